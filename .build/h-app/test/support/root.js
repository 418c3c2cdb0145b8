/**
 * Tests that need root and network namespaces. On a developer machine without root they
 * are reported as skipped (with the reason); where FLOWTAP_REQUIRE_ROOT=1 (CI) they are
 * mandatory and a missing capability fails them instead.
 */
import { execFileSync } from 'node:child_process';
export function rootRequired() {
    return process.env.FLOWTAP_REQUIRE_ROOT === '1';
}
function capability() {
    if (process.getuid?.() !== 0)
        return 'needs root';
    try {
        execFileSync('nft', ['--version'], { stdio: 'ignore' });
        execFileSync('ip', ['-V'], { stdio: 'ignore' });
    }
    catch {
        return 'needs nft and ip (run scripts/setup.sh)';
    }
    return null;
}
/** Value for node:test's `skip` option: false when the test can run. Throws in CI if it cannot. */
export function needsRoot() {
    const missing = capability();
    if (!missing)
        return false;
    if (rootRequired())
        throw new Error(`FLOWTAP_REQUIRE_ROOT=1 but this machine cannot run root tests: ${missing}`);
    return missing;
}
//# sourceMappingURL=root.js.map