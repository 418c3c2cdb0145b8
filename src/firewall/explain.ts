/**
 * Why a connection is allowed or denied: for every instance pair, the deciding rule of the
 * source's egress chain and of the destination's ingress chain, and the requirement each
 * rule was inferred from.
 */
import { EXTERNAL, type Addressing, type App, type Requirement } from '../model/index.js';
import { evaluateChain, type ChainDecision } from './chain-eval.js';
import type { Ruleset } from './types.js';

export interface ChainVerdict {
  chain: string;
  action: 'accept' | 'drop';
  rule?: string;
  requirement?: Requirement;
  defaulted: boolean;
}

export interface PairExplanation {
  from: string;
  to: string;
  protocol: 'tcp' | 'udp';
  port: number;
  allowed: boolean;
  egress?: ChainVerdict;
  ingress: ChainVerdict;
}

export function explainConnection(
  ruleset: Ruleset,
  app: App,
  addressing: Addressing,
  from: string,
  to: string,
  protocol: 'tcp' | 'udp',
  port: number,
): PairExplanation[] {
  const sources = from === EXTERNAL ? [null] : app.instances.filter((i) => i.service === from);
  const targets = app.instances.filter((i) => i.service === to);
  const verdict = (chain: string, d: ChainDecision): ChainVerdict => ({
    chain,
    action: d.action,
    defaulted: d.defaulted,
    ...(d.rule ? { rule: d.rule.id } : {}),
    ...(d.rule?.requirement !== undefined ? { requirement: app.requirements[d.rule.requirement] } : {}),
  });
  const out: PairExplanation[] = [];
  for (const s of sources)
    for (const t of targets) {
      if (s && s.name === t.name) continue;
      const ingress = verdict(
        `ingress ${t.name}`,
        evaluateChain(
          ruleset,
          t.name,
          'ingress',
          s ? { instance: s.name, service: s.service, ip: addressing.instances[s.name]?.ip } : {},
          protocol,
          port,
        ),
      );
      const egress = s
        ? verdict(
            `egress ${s.name}`,
            evaluateChain(
              ruleset,
              s.name,
              'egress',
              { instance: t.name, service: t.service, ip: addressing.instances[t.name]?.ip },
              protocol,
              port,
            ),
          )
        : undefined;
      out.push({
        from: s?.name ?? EXTERNAL,
        to: t.name,
        protocol,
        port,
        allowed: ingress.action === 'accept' && (!egress || egress.action === 'accept'),
        ...(egress ? { egress } : {}),
        ingress,
      });
    }
  return out;
}
