/**
 * Stable diagnostic codes of the descriptor loader. Programs match on these;
 * docs/descriptor.md lists each with an example.
 */
export const ModelCode = {
    /** The file could not be read. */
    READ: 'E_READ',
    /** YAML syntax error (bad indentation, unclosed flow collection, several documents, unknown tag...). */
    YAML_SYNTAX: 'E_YAML_SYNTAX',
    /** The same key twice in one mapping. */
    DUPLICATE_KEY: 'E_DUPLICATE_KEY',
    /** A key the format does not define. */
    UNKNOWN_KEY: 'E_UNKNOWN_KEY',
    /** A required key is absent. */
    MISSING_KEY: 'E_MISSING_KEY',
    /** A value of the wrong type (string where a number belongs, ...). */
    TYPE: 'E_TYPE',
    /** A value outside a fixed set of choices. */
    ENUM: 'E_ENUM',
    /** Any other structural problem (empty string where text is required, ...). */
    SCHEMA: 'E_SCHEMA',
    /** A name that is not a lowercase DNS label (or a label/env key of the wrong form). */
    NAME: 'E_NAME',
    /** A service named `external`, which is the reserved name for clients outside the app. */
    RESERVED_NAME: 'E_RESERVED_NAME',
    NO_NODES: 'E_NO_NODES',
    NO_SERVICES: 'E_NO_SERVICES',
    CIDR: 'E_CIDR',
    ADDRESS_SPACE: 'E_ADDRESS_SPACE',
    REPLICAS: 'E_REPLICAS',
    PORT_RANGE: 'E_PORT_RANGE',
    /** Application protocol that cannot run over the port's transport (postgres over udp). */
    PORT_APP: 'E_PORT_APP',
    DUP_PORT_NAME: 'E_DUP_PORT_NAME',
    DUP_PORT_NUMBER: 'E_DUP_PORT_NUMBER',
    DUP_NODE: 'E_DUP_NODE',
    DUP_MONITOR: 'E_DUP_MONITOR',
    UNKNOWN_NODE: 'E_UNKNOWN_NODE',
    DUP_PLACEMENT: 'E_DUP_PLACEMENT',
    CAPACITY: 'E_CAPACITY',
    TO_FORMAT: 'E_TO_FORMAT',
    UNKNOWN_SERVICE: 'E_UNKNOWN_SERVICE',
    UNKNOWN_PORT: 'E_UNKNOWN_PORT',
    EXTERNAL_TO_INTERNAL: 'E_EXTERNAL_TO_INTERNAL',
    SELF_REQUIREMENT: 'E_SELF_REQUIREMENT',
    DUP_REQUIREMENT: 'E_DUP_REQUIREMENT',
    L7_MISMATCH: 'E_L7_MISMATCH',
    HTTP_METHOD: 'E_HTTP_METHOD',
    HTTP_PATH: 'E_HTTP_PATH',
    SQL_STATEMENT: 'E_SQL_STATEMENT',
    SQL_TABLE: 'E_SQL_TABLE',
    NATS_SUBJECT: 'E_NATS_SUBJECT',
    IDENTITY: 'E_IDENTITY',
};
//# sourceMappingURL=codes.js.map