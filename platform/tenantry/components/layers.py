"""What Lambda loads besides our zip: the runtime (and the boto3 it ships) and the public Powertools
layer (Powertools and, from its extras, pydantic). One home for these versions:

- `functions.py` declares RUNTIME, ARCHITECTURE and the ARN of LAYER_VERSION;
- `tools/lock.py` resolves `requirements-lambda.lock` from `lambda_requirements()`, and the Lambda-side
  tests run on Python 3.13 against that lock (`make test`);
- `pyproject.toml` pins the same Powertools and pydantic for the project's own interpreter;
- `tests/unit/test_lambda_versions.py` checks that all of them agree.

This module imports nothing but the standard library: `tools/lock.py` loads it by path, without
Pulumi. Moving to another layer: add its row below (with its source), set LAYER_VERSION, bump the
pyproject pins, `make lock`.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNTIME = "python3.13"          # Amazon Linux 2023; python3.11 (Amazon Linux 2) blocks creation from 2027-07-31
ARCHITECTURE = "x86_64"
PYTHON_VERSION = RUNTIME.removeprefix("python")
POWERTOOLS_ACCOUNT = "017000801446"
LAYER_NAME = "AWSLambdaPowertoolsPythonV3-{py}-{arch}"


@dataclass(frozen=True)
class LayerRelease:
    """One version of the public Powertools v3 layer (the same number for every Python and
    architecture): the Powertools release it carries, and where that is written down."""
    version: int
    powertools: str
    source: str
    # The layer is built with `pip install aws-lambda-powertools[all]==<release>`, unpinned, when the
    # release is published (layer_v3/ in the Powertools repository, `include_extras=True`), so its
    # pydantic and the other extras are the newest on PyPI that day: `resolved_at` is the end of the
    # day PyPI received the release, and `pydantic` what resolves then (`uv pip compile
    # --exclude-newer <resolved_at>`, as `make lock` does). None: not examined.
    resolved_at: str | None = None
    pydantic: str | None = None


_DOCS_PR = "https://github.com/aws-powertools/powertools-lambda-python/pull/{}"
# Layer version -> release, from the Powertools repository's "update layer version number" pull
# requests (each changes docs/index.md to the new number after a release). Layer ARNs per version:
# https://docs.aws.amazon.com/powertools/python/latest/#lambda-layer. Confirm any row with
# `aws lambda get-layer-version-by-arn --arn <arn>`: the description names the release.
RELEASES = {r.version: r for r in (
    LayerRelease(2, "3.1.0", _DOCS_PR.format(5344)),
    LayerRelease(3, "3.2.0", _DOCS_PR.format(5426)),
    LayerRelease(5, "3.4.0", _DOCS_PR.format(5785)),
    LayerRelease(6, "3.4.1", _DOCS_PR.format(5869)),
    # PR 7757 moves docs/index.md from layer 18 to 27 (v3.23.0); the Tenantry audit (issue 10)
    # read the same release in layer 27's description.
    LayerRelease(27, "3.23.0", _DOCS_PR.format(7757),   # 3.23.0 reached PyPI at 2025-11-13T16:44:21Z.
                 resolved_at="2025-11-14T00:00:00Z", pydantic="2.12.4"),
)}

LAYER_VERSION = 27
LAYER = RELEASES[LAYER_VERSION]

# The SDK inside the python3.13 runtime. AWS no longer publishes it: "The version of the AWS SDK
# included in the Python runtime depends on the runtime version and your AWS Region" (Lambda
# developer guide, "Runtime-included SDK versions"; find it with a function that prints
# `boto3.__version__`), and Lambda moves it forward over time. We test against the newest boto3
# on PyPI when the layer was built (what resolves at LAYER.resolved_at): the code must
# never need a newer one than that, and a runtime that ships a newer one is a patch release of
# the same SDK line. Replace with what a deployed function reports when you have one.
RUNTIME_SDK = {"boto3": "1.40.73", "botocore": "1.40.73"}


def layer_arn(region: str, version: int = LAYER_VERSION, runtime: str = RUNTIME,
              architecture: str = ARCHITECTURE) -> str:
    name = LAYER_NAME.format(py=runtime.replace(".", ""), arch=architecture)
    return f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:{name}:{version}"


def lambda_requirements() -> list[str]:
    """What Lambda puts on sys.path besides our zip, as requirements: the layer (Powertools with
    every extra, and its pydantic) and the runtime's SDK."""
    if LAYER.pydantic is None or LAYER.resolved_at is None:
        raise ValueError(f"layer {LAYER.version}: its pydantic and resolution instant are not recorded")
    return [f"aws-lambda-powertools[all]=={LAYER.powertools}", f"pydantic=={LAYER.pydantic}",
            *(f"{name}=={version}" for name, version in sorted(RUNTIME_SDK.items()))]
