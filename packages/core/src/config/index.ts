export {
  CombinedCredentialSource,
  combineCredentialSources,
  StaticCredentialSource,
} from './credential-sources.js';
export {
  DEFAULT_EXEC_TIMEOUT_MS,
  EXEC_CREDENTIAL_API_VERSIONS,
  type ExecClusterInfo,
  type ExecCredentialApiVersion,
  ExecCredentialSource,
  type ExecCredentialSourceOptions,
} from './exec-credential.js';
export { DEFAULT_SERVICE_ACCOUNT_DIR } from './in-cluster.js';
export {
  type KubeconfigFile,
  type MergedKubeconfig,
  mergeKubeconfigs,
  parseKubeconfig,
  readKubeconfigFile,
} from './kubeconfig-file.js';
export { loadKubeConfig } from './load-kube-config.js';
export { WARNING_CODES } from './settings.js';
export {
  DEFAULT_TOKEN_FILE_REFRESH_INTERVAL_MS,
  TokenFileCredentialSource,
  type TokenFileCredentialSourceOptions,
} from './token-file.js';
export {
  type ClientCertificate,
  type CredentialSource,
  type Credentials,
  type InClusterOptions,
  type KubeConfig,
  type KubeConfigSource,
  type LoadKubeConfigOptions,
  Secret,
  type TlsSettings,
} from './types.js';
