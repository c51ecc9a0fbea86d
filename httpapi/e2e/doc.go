// Package e2e holds end-to-end tests of the management API: the real
// broker (shards on netio) feeding the real catalog, the API in front of
// both, real MQTT clients and real HTTP. It has no code outside its tests;
// it lives apart from httpapi so that httpapi itself never imports the
// broker.
package e2e
