/** Nearest-rank percentile of an ascending array; 0 for an empty one. */
export function percentile(sorted, p) {
    if (sorted.length === 0)
        return 0;
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
const round = (ms) => Math.round(ms * 100) / 100;
export function summariseLatencies(samples) {
    const sorted = [...samples].sort((a, b) => a - b);
    let total = 0;
    for (const s of sorted)
        total += s;
    return {
        p50: round(percentile(sorted, 50)),
        p90: round(percentile(sorted, 90)),
        p99: round(percentile(sorted, 99)),
        max: round(sorted.length ? sorted[sorted.length - 1] : 0),
        mean: round(sorted.length ? total / sorted.length : 0),
    };
}
export function increment(counts, key) {
    counts[key] = (counts[key] ?? 0) + 1;
}
//# sourceMappingURL=stats.js.map