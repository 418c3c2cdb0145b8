/** Every 'reaction' record of an application, paged out of the store: what the ledger is folded from. */
import type { RecordStore, StoredRecord } from '../broker/index.js';

const PAGE = 10_000;

export async function reactionHistory(store: RecordStore, at: { tenant?: string; app: string }): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let afterId = 0;
  for (;;) {
    const page = await store.query({ kinds: ['reaction'], ...(at.tenant ? { tenant: at.tenant } : {}), app: at.app, afterId, limit: PAGE });
    out.push(...page);
    if (page.length < PAGE) return out;
    afterId = page[page.length - 1].id;
  }
}
