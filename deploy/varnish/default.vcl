# Varnish 7 in front of the Dataviz web app (gunicorn). See docs/operations.md.
#
# Cached: GET JSON API responses that carry an `xkey` header (the data routes:
# `xkey: tenant-<id> snapshot-<version>`, kept until a refresh purges them),
# and the static files (/assets/, /_dash-component-suites/) when they are 200.
# Passed: everything else: Dash callbacks (POST), dashboard pages (their
# `?token=` is a credential, and their layout follows the live snapshot),
# /api/v1/meta and /healthz. Never answered here: /metrics and /readyz
# (scrape each gunicorn on its loopback port).
# The Authorization header is part of the cache key: two credentials never
# share an entry, even when they may read the same tenant.
#
# Compression: the app answers brotli or gzip (flask-compress, `Vary:
# Accept-Encoding`). Accept-Encoding is normalised here to `br`, `gzip` or
# nothing and hashed, so a cached file is kept at most three times (once per encoding),
# and the backend is asked for exactly that encoding (Varnish itself would
# only ask for gzip). Fingerprinted files (`Cache-Control: immutable`, a year)
# are kept for their max-age; other static files one hour.
#
# Limits (docs/security.md and docs/reliability.md give the reasons):
# - request bodies: at most 1 MB, read whole by Varnish before gunicorn sees
#   them (a slow client costs a Varnish thread, never a gunicorn worker);
# - requests that reach gunicorn (misses and passes; cache hits are free):
#   DATAVIZ_EDGE_CLIENT_LIMIT per client address (default 300) and
#   DATAVIZ_EDGE_CREDENTIAL_LIMIT per credential (default 300) in 10 s,
#   DATAVIZ_EDGE_FAILURE_LIMIT 401/403 answers per client (default 60) in
#   60 s; over a limit: 429 with Retry-After for 10 s (60 s for failures);
# - PURGE and BAN: from the `purgers` ACL, and with the header
#   `X-Purge-Token: $DATAVIZ_PURGE_TOKEN` (32 characters or more); with that
#   variable unset, every PURGE and BAN is refused.
# The DATAVIZ_* values are read from varnishd's environment.
vcl 4.1;

import std;
import vsthrottle;
import xkey;

# deploy/stack.py and the tests rewrite this host and port.
backend default {
    .host = "127.0.0.1";
    .port = "8050";
    .connect_timeout = 2s;
    .between_bytes_timeout = 10s;
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # Set by this VCL only, never taken from the client.
    unset req.http.x-purged;
    unset req.http.x-refusal;
    unset req.http.x-retry-after;
    unset req.http.x-encoding;
    if (req.url ~ "^[a-zA-Z][a-zA-Z0-9+.-]*://") {
        # An absolute-form target: every rule below matches on the path.
        set req.url = regsub(req.url, "^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", "");
        if (req.url !~ "^/") {
            set req.url = "/" + req.url;
        }
    }
    if (req.method == "PURGE" || req.method == "BAN") {
        call purger_only;
    }
    if (req.method == "PURGE") {
        if (req.http.xkey-purge) {
            set req.http.x-purged = xkey.purge(req.http.xkey-purge);
            return (synth(200, "Purged"));
        }
        return (purge);
    }
    if (req.method == "BAN") {
        if (!req.http.x-ban-url) {
            set req.http.x-refusal = "BAN needs an X-Ban-Url header (a regular expression on the URL)";
            return (synth(400, "Bad Request"));
        }
        if (req.http.x-ban-url ~ {"[\s"]"}) {
            set req.http.x-refusal = "X-Ban-Url holds a space or a quote";
            return (synth(400, "Bad Request"));
        }
        if (!std.ban("obj.http.x-url ~ " + req.http.x-ban-url)) {
            set req.http.x-refusal = "the ban was refused: " + regsuball(std.ban_error(), {"[^ -!#-\[\]-~]"}, "");
            return (synth(400, "Bad Request"));
        }
        return (synth(200, "Banned"));
    }
    if (std.tolower(regsub(req.url, "\?.*", "")) ~ "^/+(m|%6d)(e|%65)(t|%74)(r|%72)(i|%69)(c|%63)(s|%73)/*$" ||
        std.tolower(regsub(req.url, "\?.*", "")) ~ "^/+(r|%72)(e|%65)(a|%61)(d|%64)(y|%79)(z|%7a)/*$") {
        # Operators' endpoints: each gunicorn answers them on its loopback port.
        set req.http.x-refusal = "not served here";
        return (synth(404, "Not Found"));
    }
    call body_limit;
    call normalise_encoding;
    if (req.method != "GET" && req.method != "HEAD") {
        # Dash callbacks (POST /_dash-update-component), POST /api/v1/refresh.
        return (pass);
    }
    if (req.url ~ "[?&]token=") {
        # An embedded dashboard page: the token is a credential, never a cache key.
        return (pass);
    }
    if (req.url ~ "^/(assets|_dash-component-suites)/") {
        # Public files: one shared entry whoever asks.
        unset req.http.Cookie;
        unset req.http.Authorization;
        return (hash);
    }
    if (req.url ~ "^/api/v1/") {
        # Bearer credentials, no cookies: the builtin VCL would pass on Authorization.
        unset req.http.Cookie;
        return (hash);
    }
    return (pass);
}

sub normalise_encoding {
    # Brotli first (every current browser), then gzip; a coding refused with q=0 is not offered.
    if (req.http.Accept-Encoding ~ "(^|,)\s*br\s*(,|;|$)" && req.http.Accept-Encoding !~ "(^|,)\s*br\s*;\s*q=0(\.0*)?\s*(,|$)") {
        set req.http.Accept-Encoding = "br";
    } elsif (req.http.Accept-Encoding ~ "(^|,)\s*(x-)?gzip\s*(,|;|$)" &&
             req.http.Accept-Encoding !~ "(^|,)\s*gzip\s*;\s*q=0(\.0*)?\s*(,|$)") {
        set req.http.Accept-Encoding = "gzip";
    } else {
        unset req.http.Accept-Encoding;
    }
    # Read back in vcl_backend_fetch: on a miss, Varnish rewrites the backend's Accept-Encoding to gzip.
    set req.http.x-encoding = req.http.Accept-Encoding;
}

sub purger_only {
    # The ACL alone admits anything on the host (a TLS terminator, another
    # user's process); the token is what the ETL hosts share with Varnish.
    if (client.ip !~ purgers) {
        set req.http.x-refusal = "PURGE and BAN come from the purgers ACL only";
        return (synth(403, "Forbidden"));
    }
    # No token configured (or a short one) refuses every PURGE and BAN: a
    # varnishd started without its environment fails closed, and the ETL's
    # report says so, rather than opening purges to the whole host.
    set req.http.x-purge-wanted = std.getenv("DATAVIZ_PURGE_TOKEN");
    if (req.http.x-purge-wanted !~ "^.{32,}$") {
        set req.http.x-refusal = "PURGE and BAN are refused: DATAVIZ_PURGE_TOKEN (32 characters or more) is not set in varnishd's environment";
        return (synth(403, "Forbidden"));
    }
    if (req.http.x-purge-token != req.http.x-purge-wanted) {
        set req.http.x-refusal = "PURGE and BAN need the X-Purge-Token header";
        return (synth(403, "Forbidden"));
    }
    unset req.http.x-purge-wanted;
}

sub body_limit {
    # 1 MB: 24 times the largest callback body the app makes (42 KB, the CSV
    # download of a 3-year daily table); see docs/security.md. The body is
    # read whole here, so gunicorn never waits on a slow client.
    if (req.http.Content-Length ~ "^[0-9]{8,}$" ||
        std.integer(req.http.Content-Length, 0) > 1048576) {
        set req.http.x-refusal = "the request body is larger than 1 MB";
        return (synth(413, "Content Too Large"));
    }
    if ((req.http.Content-Length || req.http.Transfer-Encoding) && !std.cache_req_body(1MB)) {
        set req.http.x-refusal = "the request body is larger than 1 MB, or was not sent in time";
        return (synth(413, "Content Too Large"));
    }
}

sub throttle {
    # Only requests that reach gunicorn count (vcl_miss, vcl_pass): cache hits
    # cost nothing and are never refused.
    if (vsthrottle.remaining("failed:" + client.ip,
                             std.integer(std.getenv("DATAVIZ_EDGE_FAILURE_LIMIT"), 60), 60s, 60s) <= 0) {
        set req.http.x-refusal = "too many refused credentials from this address";
        set req.http.x-retry-after = "60";
        return (synth(429, "Too Many Requests"));
    }
    if (vsthrottle.is_denied("client:" + client.ip,
                             std.integer(std.getenv("DATAVIZ_EDGE_CLIENT_LIMIT"), 300), 10s, 10s)) {
        set req.http.x-refusal = "too many requests from this address";
        set req.http.x-retry-after = "10";
        return (synth(429, "Too Many Requests"));
    }
    if (req.http.Authorization || req.url ~ "[?&]token=[^&]") {
        if (vsthrottle.is_denied("credential:" + req.http.Authorization + ":" +
                                 regsub(req.url, "^.*[?&]token=([^&]*).*$|^.*$", "\1"),
                                 std.integer(std.getenv("DATAVIZ_EDGE_CREDENTIAL_LIMIT"), 300), 10s, 10s)) {
            set req.http.x-refusal = "too many requests with this credential";
            set req.http.x-retry-after = "10";
            return (synth(429, "Too Many Requests"));
        }
    }
}

sub vcl_miss {
    call throttle;
}

sub vcl_pass {
    call throttle;
}

sub vcl_hash {
    if (req.http.Authorization) {
        hash_data(req.http.Authorization);
    }
    # One object per encoding: Varnish's own gzip handling rewrites Accept-Encoding
    # (dropping it when it names no gzip), so Vary alone would mix br and plain answers.
    hash_data(req.http.x-encoding);
    # The builtin vcl_hash adds the URL and the Host.
}

sub vcl_backend_fetch {
    # Here rather than in the backend: vcl_backend_error reads it back.
    set bereq.first_byte_timeout = 60s;
    if (bereq.http.x-encoding) {
        set bereq.http.Accept-Encoding = bereq.http.x-encoding;
    } else {
        unset bereq.http.Accept-Encoding;
    }
    unset bereq.http.x-encoding;
}

sub vcl_backend_response {
    # Kept on the object so that BAN can match URLs without a request (ban lurker).
    set beresp.http.x-url = bereq.url;
    if (beresp.status >= 500) {
        # A failing worker's answer is never kept, wherever it comes from.
        set beresp.ttl = 5s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (bereq.url ~ "^/api/v1/" && (beresp.status != 200 || !beresp.http.xkey)) {
        # Errors (401, 403, 404 of a tenant that may appear) and responses that
        # no purge could reach (meta, openapi) are never kept.
        set beresp.ttl = 120s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (bereq.url ~ "^/(assets|_dash-component-suites)/") {
        if (beresp.status != 200) {
            # A 404 of a file a deploy is about to add is not kept for an hour.
            set beresp.ttl = 5s;
            set beresp.uncacheable = true;
            return (deliver);
        }
        if (!beresp.http.Cache-Control) {
            set beresp.ttl = 1h;
        }
    }
}

sub vcl_backend_error {
    # A GET whose backend connection broke (a gunicorn worker killed or
    # recycled mid-request) is asked again: another worker answers it.
    # Varnish already does this once for a reused connection; this covers
    # fresh ones too. Only GET and HEAD (they change nothing when repeated),
    # and only a quick failure, within half of first_byte_timeout: a request
    # that timed out would only hold one more worker for as long again,
    # twice. (Measured against the whole timeout, a slow GET was once sent
    # twice in CI: most likely a timeout that fired a hair early by Varnish's
    # clock.)
    if ((bereq.method == "GET" || bereq.method == "HEAD") && bereq.retries < 2 &&
        now - bereq.time < bereq.first_byte_timeout / 2) {
        return (retry);
    }
}

sub vcl_deliver {
    if (resp.status == 401 || resp.status == 403) {
        # Counted here, checked in throttle: a client guessing credentials.
        if (vsthrottle.is_denied("failed:" + client.ip,
                                 std.integer(std.getenv("DATAVIZ_EDGE_FAILURE_LIMIT"), 60), 60s, 60s)) {
            std.log("edge: failure limit reached for " + client.ip);
        }
    }
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.x-url;
    unset resp.http.xkey;
}

sub vcl_synth {
    if (req.http.x-purged) {
        set resp.http.X-Purged = req.http.x-purged;
    }
    if (req.http.x-refusal) {
        # Same shape as the app's errors (app/problems.py).
        set resp.http.Content-Type = "application/problem+json";
        set resp.http.Cache-Control = "no-store";
        if (req.http.x-retry-after) {
            set resp.http.Retry-After = req.http.x-retry-after;
        }
        if (resp.status == 413) {
            # The rest of the body is not read: the connection cannot be reused.
            set resp.http.Connection = "close";
        }
        set resp.body = {"{"type": "about:blank", "title": ""} + resp.reason + {"", "status": "} +
            resp.status + {", "detail": ""} + req.http.x-refusal + {"""} + "}";
        return (deliver);
    }
}
