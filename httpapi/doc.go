// Package httpapi serves shardmq's management REST API: the clients API of
// EMQX Cloud (the seed, see ../../shared/spec/CLIENTS_API.md) plus the EMQX 5
// endpoints users expect beside it (subscriptions, publish, stats).
//
// Routing uses github.com/julienschmidt/httprouter. List queries on
// GET /clients go to a [Lister] (the SQLite catalog); single-client reads and
// every command go to a [Broker], an interface this package defines and the
// broker implements, so httpapi never imports the broker. Requests are
// authenticated with HTTP Basic API keys held by a [KeyStore]: those of a
// bootstrap file and those managed through /api_key, which
// [KeyStore.Persist] keeps in a file.
//
// Every error response is a JSON object {"code": "...", "message": "..."}
// whose message says what is wrong for a person and never carries a stack
// trace, SQL text or other internals; served through [API.WrapListener],
// so are the errors net/http answers before any handler runs.
package httpapi
