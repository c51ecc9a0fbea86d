package mqtt_test

import (
	"fmt"

	"github.com/shardmq/shardmq/mqtt"
)

// Example shows the read loop of a connection: frame what has arrived,
// decode each complete packet in place, keep the rest for the next read.
func Example() {
	// Two reads: a PUBLISH cut in the middle, then its tail and a PINGREQ.
	pub := mqtt.AppendPublish(nil, &mqtt.Publish{QoS: 1, PacketID: 7, Topic: []byte("a/b"), Payload: []byte("hi")}, mqtt.V311)
	reads := [][]byte{pub[:4], append(pub[4:], 0xc0, 0x00)}

	var buf []byte
	var p mqtt.Publish
	for _, r := range reads {
		buf = append(buf, r...)
		for {
			h, n, err := mqtt.Frame(buf, 1024)
			if err != nil {
				fmt.Println("close with", mqtt.Code(err))
				return
			}
			if n == 0 {
				fmt.Println("need more bytes")
				break
			}
			switch h.Type {
			case mqtt.TypePublish:
				if err := p.Decode(h, buf[h.HeaderLen:n], mqtt.V311); err != nil {
					fmt.Println("close with", mqtt.Code(err))
					return
				}
				fmt.Printf("PUBLISH %s %q id=%d\n", p.Topic, p.Payload, p.PacketID)
				ack := mqtt.AppendPuback(nil, &mqtt.Puback{PacketID: p.PacketID}, mqtt.V311)
				fmt.Printf("answer % x\n", ack)
			default:
				fmt.Println(h.Type)
			}
			buf = buf[n:]
		}
	}
	// Output:
	// need more bytes
	// PUBLISH a/b "hi" id=7
	// answer 40 02 00 07
	// PINGREQ
	// need more bytes
}
