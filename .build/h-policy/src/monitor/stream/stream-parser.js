/**
 * The contract between the TCP reassembler and an application-protocol parser.
 * Bytes arrive per direction in arbitrary pieces; a parser must accept any split of the
 * same byte stream and produce the same events, and must never throw on what the network sends.
 */
export {};
//# sourceMappingURL=stream-parser.js.map