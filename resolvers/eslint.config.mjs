// Lints resolvers with AWS's APPSYNC_JS rules: what AppSync would reject at deploy time fails here.
import appsync from '@aws-appsync/eslint-plugin';

export default [
  { ignores: ['node_modules/**', 'eslint.config.mjs'] },
  {
    files: ['*.js'],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['*.js'] } } },
  },
  { files: ['*.js'], ...appsync.configs.recommended },
];
