# Varnish 7 in front of the Dataviz web app (gunicorn). See docs/operations.md.
#
# Cached: GET JSON API responses that carry an `xkey` header (the data routes:
# `xkey: tenant-<id> snapshot-<version>`, kept until a refresh purges them),
# and the static files (/assets/, /_dash-component-suites/).
# Passed: everything else: Dash callbacks (POST), dashboard pages (their
# `?token=` is a credential, and their layout follows the live snapshot),
# /api/v1/meta, health and metrics.
# The Authorization header is part of the cache key: two credentials never
# share an entry, even when they may read the same tenant.
# PURGE (with `xkey-purge: key1 key2`) and BAN only come from `purgers`.
vcl 4.1;

import xkey;

# deploy/stack.py and the tests rewrite this host and port.
backend default {
    .host = "127.0.0.1";
    .port = "8050";
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 10s;
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    unset req.http.x-purged;
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            set req.http.x-purged = xkey.purge(req.http.xkey-purge);
            return (synth(200, "Purged"));
        }
        return (purge);
    }
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.x-ban-url) {
            return (synth(400, "BAN needs an X-Ban-Url header (a regular expression on the URL)"));
        }
        ban("obj.http.x-url ~ " + req.http.x-ban-url);
        return (synth(200, "Banned"));
    }
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

sub vcl_hash {
    if (req.http.Authorization) {
        hash_data(req.http.Authorization);
    }
    # The builtin vcl_hash adds the URL and the Host.
}

sub vcl_backend_response {
    # Kept on the object so that BAN can match URLs without a request (ban lurker).
    set beresp.http.x-url = bereq.url;
    if (bereq.url ~ "^/api/v1/" && (beresp.status != 200 || !beresp.http.xkey)) {
        # Errors (401, 403, 404 of a tenant that may appear) and responses that
        # no purge could reach (meta, openapi) are never kept.
        set beresp.ttl = 120s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (bereq.url ~ "^/(assets|_dash-component-suites)/" && !beresp.http.Cache-Control) {
        set beresp.ttl = 1h;
    }
}

sub vcl_backend_error {
    # A GET whose backend connection broke (a gunicorn worker killed or
    # recycled mid-request) is asked again: another worker answers it.
    # Varnish already does this once for a reused connection; this covers
    # fresh ones too. Only GET and HEAD: they change nothing when repeated.
    if ((bereq.method == "GET" || bereq.method == "HEAD") && bereq.retries < 2) {
        return (retry);
    }
}

sub vcl_deliver {
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
}
