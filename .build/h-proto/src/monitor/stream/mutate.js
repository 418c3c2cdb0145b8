/**
 * Structure-aware mutation for fuzzing the parsers: starts from valid conversations and damages
 * them the way hostile peers and lossy taps do (flipped bytes, spliced protocol tokens, cuts).
 */
export function mutate(rnd, input, dictionary) {
    let out = Array.from(input);
    const rounds = 1 + Math.floor(rnd() * 4);
    for (let r = 0; r < rounds; r++) {
        const at = Math.floor(rnd() * (out.length + 1));
        switch (Math.floor(rnd() * 7)) {
            case 0:
                if (out.length)
                    out[Math.min(at, out.length - 1)] = Math.floor(rnd() * 256);
                break;
            case 1: {
                const tok = dictionary[Math.floor(rnd() * dictionary.length)];
                if (tok)
                    out.splice(at, 0, ...tok);
                break;
            }
            case 2:
                out.splice(at, 1 + Math.floor(rnd() * 16));
                break;
            case 3: {
                const from = Math.floor(rnd() * out.length);
                const piece = out.slice(from, from + 1 + Math.floor(rnd() * 64));
                out.splice(at, 0, ...piece);
                break;
            }
            case 4:
                out = out.slice(0, at);
                break;
            case 5: {
                const n = 1 + Math.floor(rnd() * 32);
                for (let i = 0; i < n; i++)
                    out.splice(at, 0, Math.floor(rnd() * 256));
                break;
            }
            default: {
                const tok = dictionary[Math.floor(rnd() * dictionary.length)];
                if (tok)
                    out.splice(at, tok.length, ...tok);
            }
        }
    }
    return Uint8Array.from(out);
}
export function randomBytes(rnd, maxLen) {
    const n = Math.floor(rnd() * maxLen);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++)
        out[i] = Math.floor(rnd() * 256);
    return out;
}
//# sourceMappingURL=mutate.js.map