/**
 * Name rules. Names end up in interface comments, nft set names, Kubernetes
 * objects and Datalog constants, so they are kept to a form all of those accept.
 */
/** tenant, app, service, port and monitor names: a lowercase DNS label starting with a letter. */
const LABEL = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Node names may be host names (Kubernetes node names are DNS subdomains). */
const NODE = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;
/** Kubernetes label key syntax, so labels survive a round trip through Kubernetes. */
const LABEL_KEY = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const NAME_RULE = 'a lowercase name of letters, digits and "-", starting with a letter, at most 63 characters';
export const NODE_NAME_RULE = 'a lowercase host name (letters, digits, "-" and "."), at most 253 characters';
export const LABEL_KEY_RULE = 'a Kubernetes label key like "tier" or "example.com/tier"';
export const ENV_KEY_RULE = 'an environment variable name (letters, digits, "_", not starting with a digit)';
export const isName = (s) => LABEL.test(s);
export const isNodeName = (s) => NODE.test(s);
export const isLabelKey = (s) => LABEL_KEY.test(s);
export const isEnvKey = (s) => ENV_KEY.test(s);
//# sourceMappingURL=names.js.map