/**
 * Everything the API reads or changes, behind one interface: the deployments of the local
 * cloud (LocalFleet) or a fake one in tests (FakeFleet in testing.ts). The server decides who
 * may see what; a Fleet knows nothing of tokens, and answers for every deployment.
 *
 * Every method about one application throws FlowtapError: E_API_NOT_FOUND when there is no
 * such deployment (or no such object in it), E_API_CONFLICT when the deployment cannot do it
 * now (no controller, no broker), a broker's E_BROKER_* when its store or bus is unreachable,
 * and a diagnostic with a field for input the deployment refuses (an unknown node).
 */
import type { Reaction } from '../controller/index.js';
import type { RuleCounter } from '../dataplane/index.js';
import type { RecordQuery, StoreStats, StoredRecord } from '../broker/index.js';
import type {
  AppDetail,
  AppSummary,
  Firewall,
  Graph,
  Notice,
  Policies,
  PoliciesChange,
  ProbeResult,
  ReactionRules,
  Reconfigured,
  Taps,
  Verbosity,
  VerbosityChange,
  VerbosityResult,
} from './schemas.js';

/** Who asks: what every write is recorded with. */
export interface Actor {
  /** The token's tenant; null for an operator. */
  tenant: string | null;
  tokenId: string;
  tokenName: string;
}

/** A deployment as tenancy needs it: its name and whose it is. */
export interface AppRef {
  name: string;
  tenant: string;
}

/** Records of one deployment, as the store filters them (tenant and app are the deployment's). */
export type RecordFilter = Omit<RecordQuery, 'tenant' | 'app'>;

/** One write through the API, as its 'audit' record keeps it. */
export interface AuditEntry {
  by: Actor;
  method: string;
  route: string;
  status: number;
  outcome: 'ok' | 'refused' | 'failed';
  code?: string;
}

export interface Fleet {
  /** Every deployment there is now (applications come and go while the server runs). */
  apps(): Promise<AppRef[]>;
  /** One deployment's name and tenant; null when there is none. */
  find(app: string): Promise<AppRef | null>;
  summary(app: string): Promise<AppSummary>;
  detail(app: string): Promise<AppDetail>;
  graph(app: string): Promise<Graph>;
  policies(app: string): Promise<Policies>;
  /** Saves the policies given (they replace the set in force) and re-renders the deployment. */
  reconfigure(app: string, change: PoliciesChange, by: Actor): Promise<Reconfigured>;
  /** The controller's reaction rules; null when the deployment has no controller. */
  reactionRules(app: string): Promise<ReactionRules | null>;
  firewall(app: string): Promise<Firewall>;
  taps(app: string): Promise<Taps>;
  records(app: string, q: RecordFilter): Promise<StoredRecord[]>;
  notices(app: string, q: { from?: number; to?: number; limit?: number }): Promise<Notice[]>;
  /** The controller's ledger for the deployment in force. */
  reactions(app: string): Promise<Reaction[]>;
  reactionOp(app: string, op: 'approve' | 'undo' | 'keep', id: string, by: Actor): Promise<{ event: string; reaction: Reaction }>;
  verbosity(app: string): Promise<Verbosity>;
  setVerbosity(app: string, change: VerbosityChange, by: Actor): Promise<VerbosityResult>;
  probe(app: string, by: Actor): Promise<ProbeResult>;
  /** Records one write in the deployment's broker. */
  audit(app: string, entry: AuditEntry): Promise<void>;
  /** Counting rules in force, per node; a node whose data plane cannot be read is left out. */
  counters(app: string): Promise<Record<string, RuleCounter[]>>;
  /** The deployment's store (its address, passwords masked) and what it holds, for every app it serves. */
  storeStats(app: string): Promise<{ store: string; stats: StoreStats }>;
  close(): Promise<void>;
}
