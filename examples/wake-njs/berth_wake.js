// berth-wake's dynamic strategy for nginx (njs): ask berth-wake, then either
// serve its waiting page or hand the request to the app. nginx.conf sets
// $berth_wake_app (a location, e.g. "@app") and routes /_berth_wake to
// berth-wake's /api/strategies/dynamic with $berth_wake_query.
async function dynamic(r) {
    let reply;
    try {
        reply = await r.subrequest('/_berth_wake', { method: 'GET' });
    } catch (e) {
        r.error('berth-wake: subrequest failed: ' + e);
        r.return(502, 'berth-wake unreachable\n');
        return;
    }
    if (reply.headersOut['X-Sablier-Session-Status'] === 'ready') {
        r.internalRedirect(r.variables.berth_wake_app);
        return;
    }
    // The waiting page (200), or berth-wake's problem (404 unknown app, ...):
    // passed on as it came, and never cached.
    const type = reply.headersOut['Content-Type'];
    if (type) r.headersOut['Content-Type'] = type;
    const status = reply.headersOut['X-Sablier-Session-Status'];
    if (status) r.headersOut['X-Sablier-Session-Status'] = status;
    r.headersOut['Cache-Control'] = 'no-cache';
    r.return(reply.status, reply.responseText || '');
}

export default { dynamic };
