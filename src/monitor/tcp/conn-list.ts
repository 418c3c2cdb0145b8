/** A node of an intrusive doubly-linked list (no per-insert allocation). */
export interface ListNode<T> {
  lruPrev: T | null;
  lruNext: T | null;
  /** Which list the node is on (-1: none). */
  lruList: number;
}

/** Most recently touched at the head, least recently at the tail. */
export class LruList<T extends ListNode<T>> {
  head: T | null = null;
  tail: T | null = null;
  size = 0;

  constructor(readonly id: number) {}

  pushFront(n: T): void {
    n.lruPrev = null;
    n.lruNext = this.head;
    if (this.head) this.head.lruPrev = n;
    else this.tail = n;
    this.head = n;
    n.lruList = this.id;
    this.size++;
  }

  remove(n: T): void {
    if (n.lruPrev) n.lruPrev.lruNext = n.lruNext;
    else this.head = n.lruNext;
    if (n.lruNext) n.lruNext.lruPrev = n.lruPrev;
    else this.tail = n.lruPrev;
    n.lruPrev = null;
    n.lruNext = null;
    n.lruList = -1;
    this.size--;
  }

  moveToFront(n: T): void {
    if (this.head === n) return;
    this.remove(n);
    this.pushFront(n);
  }
}
