/** Link-layer header types (tcpdump.org LINKTYPE_ values) that the monitor can decode. */
export const LinkType = {
    NULL: 0,
    EN10MB: 1,
    RAW: 101,
    LOOP: 108,
    LINUX_SLL: 113,
    IPV4: 228,
    IPV6: 229,
    LINUX_SLL2: 276,
};
export function linkTypeName(linktype) {
    for (const [name, value] of Object.entries(LinkType))
        if (value === linktype)
            return name;
    return `LINKTYPE_${linktype}`;
}
//# sourceMappingURL=linktype.js.map