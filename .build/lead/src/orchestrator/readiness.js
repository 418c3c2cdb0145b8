export async function waitForPorts(runner, ns, ip, ports, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (const port of ports) {
        for (;;) {
            const r = await runner.run(['ip', 'netns', 'exec', ns, 'nc', '-z', '-w', '1', ip, String(port)]);
            if (r.code === 0)
                break;
            if (Date.now() > deadline)
                return { ok: false, detail: `port ${port} on ${ip} still closed after ${timeoutMs / 1000} s` };
            await new Promise((res) => setTimeout(res, 200));
        }
    }
    return { ok: true };
}
//# sourceMappingURL=readiness.js.map