/** Per-endpoint state, following Zeek's TCP endpoint states (ACTIVE is Zeek's UDP_ACTIVE). */
export const EndpointState = {
    INACTIVE: 0,
    SYN_SENT: 1,
    SYN_ACK_SENT: 2,
    PARTIAL: 3,
    ESTABLISHED: 4,
    CLOSED: 5,
    RESET: 6,
    ACTIVE: 7,
};
export function endpointStateName(s) {
    for (const [k, v] of Object.entries(EndpointState))
        if (v === s)
            return k;
    return String(s);
}
//# sourceMappingURL=tcp-state.js.map