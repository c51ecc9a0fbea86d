// Package mqtt is the wire format of MQTT 3.1 ("MQIsdp", protocol level 3),
// 3.1.1 (level 4) and 5.0 (level 5): fixed headers and incremental framing,
// all fifteen control packets, MQTT 5 properties, reason codes, variable byte
// integers, UTF-8 string rules and topic names and filters.
//
// The package works on byte slices only. It starts no goroutines, does no
// I/O and keeps no state between calls, so every function may be called from
// any goroutine; a packet value must not be used by two goroutines at once.
//
// Decoding is two steps. Frame inspects the start of a buffer and reports
// either a complete packet (its fixed header and total length) or "need
// more bytes"; it never copies. The body of a complete frame is then passed to
// the Decode method of the packet type named by the header. Byte-slice fields
// of a decoded packet alias the body: they stay valid only as long as the
// caller keeps the body's bytes unchanged. Decoding into a reused value does
// not allocate once its slices have grown to size.
//
// Encoding is append-style (AppendPublish(dst, p, v) and friends, like
// encoding/binary.AppendUvarint): the bytes of one PUBLISH can be produced once
// and shared by every subscriber of the same variant. Size methods report an
// encoded packet's length without encoding it.
//
// Failures are reported as *Error values that wrap a ReasonCode, so the
// broker can use errors.Is(err, mqtt.MalformedPacket) or errors.As to find
// the code to put into a CONNACK or DISCONNECT.
package mqtt
