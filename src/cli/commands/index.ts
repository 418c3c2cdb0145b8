/**
 * The commands, each loaded only when it runs: `flowtap --help` and a quick command must not pay
 * for the modules of all the others (the start-up bench measures it). Types cost nothing at run
 * time and are re-exported for the command tree.
 */
export const commands = {
  agent: () => import('./agent.js'),
  cloud: () => import('./cloud.js'),
  connlist: () => import('./connlist.js'),
  explain: () => import('./explain.js'),
  firewall: () => import('./firewall.js'),
  monitor: () => import('./monitor.js'),
  policyEval: () => import('./policy-eval.js'),
  reactions: () => import('./reactions.js'),
  reconfigure: () => import('./reconfigure.js'),
  records: () => import('./records.js'),
  serve: () => import('./serve.js'),
  simulate: () => import('./simulate.js'),
  taps: () => import('./taps.js'),
  token: () => import('./token.js'),
  validate: () => import('./validate.js'),
  verbosity: () => import('./verbosity.js'),
  verify: () => import('./verify.js'),
  verifyLive: () => import('./verify-live.js'),
  why: () => import('./why.js'),
};

export type { RestrictOptions } from './cloud.js';
export type { ConnlistOptions } from './connlist.js';
export type { ExplainOptions } from './explain.js';
export type { FirewallOptions } from './firewall.js';
export type { MonitorOptions } from './monitor.js';
export type { PolicyEvalOptions } from './policy-eval.js';
export type { ReactionsOptions } from './reactions.js';
export type { ReconfigureOptions } from './reconfigure.js';
export type { RecordsOptions } from './records.js';
export type { ServeOptions } from './serve.js';
export type { SimulateOptions } from './simulate.js';
export type { ExplainTapOptions, TapsOptions } from './taps.js';
export type { VerbosityOptions } from './verbosity.js';
export type { VerifyOptions } from './verify.js';
export type { WhyOptions } from './why.js';
