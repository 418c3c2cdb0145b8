/** "Did you mean" hints for misspelt keys and names: the closest candidate within a small edit distance. */
export function closest(word, candidates) {
    const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
    let best;
    let bestDistance = limit + 1;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase(), bestDistance);
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    if (best !== undefined || word.length < 2)
        return best;
    // Abbreviations ("prot" for "protocol") are too far in edits but obvious to a reader.
    const w = word.toLowerCase();
    for (const c of candidates)
        if (c.toLowerCase().startsWith(w))
            return c;
    return undefined;
}
export function didYouMean(word, candidates) {
    const c = closest(word, candidates);
    return c === undefined ? '' : ` (did you mean "${c}"?)`;
}
/**
 * Edit distance counting an adjacent transposition as one edit ("wbe" -> "web"),
 * giving up early once every cell of a row exceeds `cap`.
 */
function editDistance(a, b, cap) {
    if (Math.abs(a.length - b.length) > cap)
        return cap + 1;
    const width = b.length + 1;
    let before = new Array(width).fill(0);
    let prev = new Array(width);
    let cur = new Array(width);
    for (let j = 0; j < width; j++)
        prev[j] = j;
    for (let i = 1; i <= a.length; i++) {
        cur[0] = i;
        let rowMin = i;
        for (let j = 1; j < width; j++) {
            const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
            let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
                d = Math.min(d, before[j - 2] + 1);
            cur[j] = d;
            if (d < rowMin)
                rowMin = d;
        }
        if (rowMin > cap)
            return cap + 1;
        [before, prev, cur] = [prev, cur, before];
    }
    return prev[b.length];
}
//# sourceMappingURL=suggest.js.map