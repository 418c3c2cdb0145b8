import type { DiagCode } from '../diagnostics/index.js';

/** Stable diagnostic codes of the command line. Programs match on these (`--json` prints them). */
export const CliCode = {
  /** An option value that does not fit: not one of its choices, an unknown service, node or instance... */
  OPTION: 'E_CLI_OPTION',
  /** A file that an option names has the wrong shape (loads, a previous placement). */
  INPUT: 'E_CLI_INPUT',
  /** The command line itself: an unknown command or option, a missing argument or required option. */
  USAGE: 'E_CLI_USAGE',
  /** A file or folder named on the command line does not exist or cannot be read. */
  NO_FILE: 'E_NO_FILE',
} as const satisfies Record<string, DiagCode>;
