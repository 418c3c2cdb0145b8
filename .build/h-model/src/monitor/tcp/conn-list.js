/** Most recently touched at the head, least recently at the tail. */
export class LruList {
    id;
    head = null;
    tail = null;
    size = 0;
    constructor(id) {
        this.id = id;
    }
    pushFront(n) {
        n.lruPrev = null;
        n.lruNext = this.head;
        if (this.head)
            this.head.lruPrev = n;
        else
            this.tail = n;
        this.head = n;
        n.lruList = this.id;
        this.size++;
    }
    remove(n) {
        if (n.lruPrev)
            n.lruPrev.lruNext = n.lruNext;
        else
            this.head = n.lruNext;
        if (n.lruNext)
            n.lruNext.lruPrev = n.lruPrev;
        else
            this.tail = n.lruPrev;
        n.lruPrev = null;
        n.lruNext = null;
        n.lruList = -1;
        this.size--;
    }
    moveToFront(n) {
        if (this.head === n)
            return;
        this.remove(n);
        this.pushFront(n);
    }
}
//# sourceMappingURL=conn-list.js.map