/** Returned by `frame` after `fatal` was reported. */
export const FRAME_FATAL = -1;
//# sourceMappingURL=record-format.js.map