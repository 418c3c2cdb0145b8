/** Deciding whether a concrete packet matches a flow. */
import { fieldSpec, FIELD_ORDER } from './flow-fields.js';
import { portContains } from './flow-ports.js';
const Kind = { Num: 0, Port: 1, Wide: 2 };
const KIND = Object.fromEntries(FIELD_ORDER.map((n) => [n, fieldSpec(n).kind === 'num' ? Kind.Num : fieldSpec(n).kind === 'port' ? Kind.Port : Kind.Wide]));
/** True when every field the flow constrains admits the packet's value. Allocates nothing. */
export function matchesPacket(m, pkt) {
    const fields = m;
    for (const name in fields) {
        const v = fields[name];
        if (v === undefined)
            continue;
        switch (KIND[name]) {
            case Kind.Num: {
                const x = pkt[name];
                if (((x & v.mask) >>> 0) !== v.value)
                    return false;
                break;
            }
            case Kind.Port:
                if (!portContains(v, pkt[name]))
                    return false;
                break;
            case Kind.Wide: {
                const x = pkt[name];
                const w = v;
                for (let i = 0; i < w.mask.length; i++)
                    if ((x[i] & w.mask[i]) !== w.value[i])
                        return false;
                break;
            }
            default:
                return false;
        }
    }
    return true;
}
//# sourceMappingURL=flow-match.js.map