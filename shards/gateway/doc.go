// Package gateway is what the udp gateways below it (mqttsn, coap) share:
// the lifecycle of a netio.Gateway (Bind starts the timers, Close stops
// them, the bound address) and the counters they report as Stats. It
// imports netio and nothing of shards.
package gateway
