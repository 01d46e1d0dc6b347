"""The tenant file's `read_models` block: validation, and the switch that rewrites it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tenantry.config import READ_MODEL_SLOTS, ReadModelSlots, TenantConfigError, load_tenant, parse_tenant
from tenantry.ops.switch import apply_url, switch_tenant_file, with_active_slot

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
FILE = Path("tenants/acme.yaml")
BASE = {"name": "acme", "region": "eu-west-1"}


def problems(data: dict) -> dict[str, str | None]:
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant(data, FILE)
    return {p.field: p.allowed for p in raised.value.problems}


def test_read_models_default_to_blue_without_standby():
    config = parse_tenant(BASE, FILE)
    assert config.read_models == ReadModelSlots(active="blue", standby=False)
    assert config.read_models.declared == ("blue",)


def test_standby_declares_the_other_slot_after_the_active_one():
    config = parse_tenant({**BASE, "read_models": {"active": "green", "standby": True}}, FILE)
    assert config.read_models.declared == ("green", "blue") and config.read_models.standby_slot == "blue"


@pytest.mark.parametrize("block, field, allowed", [
    ({"active": "red"}, "read_models.active", ", ".join(READ_MODEL_SLOTS)),
    ({"standby": "sometimes"}, "read_models.standby", "true, false"),
    ({"slot": "blue"}, "read_models.slot", "active, standby"),
])
def test_bad_read_models_name_the_field_and_allowed_values(block, field, allowed):
    assert problems({**BASE, "read_models": block}) == {field: allowed}


def test_switch_rewrites_only_the_read_models_block():
    # GIVEN a tenant file with comments and a read_models block between other fields
    text = "# keep me\nname: acme\nread_models:\n  active: blue  # old\n  standby: true\ntags:\n  a: b\n"
    # WHEN switching to green
    out = with_active_slot(text, "green")
    # THEN the block says green + standby, everything else is untouched
    assert out == "# keep me\nname: acme\nread_models:\n  active: green\n  standby: true\ntags:\n  a: b\n"


def test_switch_appends_a_block_to_a_file_without_one():
    out = with_active_slot("name: acme\nregion: eu-west-1\n", "green")
    assert yaml.safe_load(out)["read_models"] == {"active": "green", "standby": True}


def test_switch_tenant_file_on_a_copy_keeps_the_file_loadable(tmp_path):
    # GIVEN a copy of the repo's acme file (never the repo's own file)
    copy = tmp_path / "tenants" / "acme.yaml"
    copy.parent.mkdir()
    shutil.copy(ROOT / "tenants" / "acme.yaml", copy)
    before = load_tenant(copy)
    # WHEN
    after = switch_tenant_file(copy, "green")
    # THEN only the slots changed, and the file on disk says so
    assert after.read_models == ReadModelSlots(active="green", standby=True)
    assert after.model_copy(update={"read_models": before.read_models}) == before
    assert load_tenant(copy) == after


def test_apply_url_and_key_come_from_the_dev_servers_endpoints(tmp_path):
    dev = tmp_path / "dev.json"
    dev.write_text('{"tenants": {"acme": {"graphql_url": "http://127.0.0.1:4100/acme/graphql"}}, '
                   '"control_key": "ck"}')
    assert apply_url(dev, "acme") == ("http://127.0.0.1:4100/_tenantry/acme/apply", "ck")
