export {};
//# sourceMappingURL=captured-packet.js.map