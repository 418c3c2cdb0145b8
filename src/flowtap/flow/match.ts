/** Deciding whether a concrete packet matches a flow. */
import {
  fieldSpec,
  FIELD_ORDER,
  type FieldName,
  type FlowMatch,
  type Masked,
  type PacketSpec,
  type PortMatch,
  type WideMasked,
} from './fields.js';
import { portContains } from './ports.js';

const Kind = { Num: 0, Port: 1, Wide: 2 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const KIND: Record<string, Kind> = Object.fromEntries(
  FIELD_ORDER.map((n) => [n, fieldSpec(n).kind === 'num' ? Kind.Num : fieldSpec(n).kind === 'port' ? Kind.Port : Kind.Wide]),
);

/** True when every field the flow constrains admits the packet's value. Allocates nothing. */
export function matchesPacket(m: FlowMatch, pkt: PacketSpec): boolean {
  const fields = m as Record<string, Masked | PortMatch | WideMasked | undefined>;
  for (const name in fields) {
    const v = fields[name];
    if (v === undefined) continue;
    switch (KIND[name]) {
      case Kind.Num: {
        const x = pkt[name as FieldName] as number;
        if ((x & (v as Masked).mask) >>> 0 !== (v as Masked).value) return false;
        break;
      }
      case Kind.Port:
        if (!portContains(v as PortMatch, pkt[name as FieldName] as number)) return false;
        break;
      case Kind.Wide: {
        const x = pkt[name as FieldName] as number[];
        const w = v as WideMasked;
        for (let i = 0; i < w.mask.length; i++) if ((x[i] & w.mask[i]) !== w.value[i]) return false;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}
