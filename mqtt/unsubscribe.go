package mqtt

// Unsubscribe is an UNSUBSCRIBE packet [MQTT-3.10].
type Unsubscribe struct {
	// PacketID is the packet identifier.
	PacketID uint16
	// Properties are the MQTT 5 properties (user properties only).
	Properties Properties
	// Filters are the topic filters to remove, in order.
	Filters [][]byte
}

// Decode parses the body of an UNSUBSCRIBE frame for protocol version v. The
// filters and the byte slices in p.Properties alias body; p.Filters is
// re-sliced and appended to. It checks the flags (ErrFlags), the packet
// identifier (ErrPacketID), that there is at least one filter (ErrNoTopics),
// each filter (ErrUTF8, TopicFilterInvalid) and the properties.
func (p *Unsubscribe) Decode(h FixedHeader, body []byte, v Version) error {
	if err := checkHeader(h, TypeUnsubscribe); err != nil {
		return err
	}
	r, err := readIDAndProperties(body, v, TypeUnsubscribe, &p.PacketID, &p.Properties)
	if err != nil {
		return err
	}
	p.Filters = p.Filters[:0]
	for !r.done() {
		f, err := r.str()
		if err != nil {
			return err
		}
		if err := ValidTopicFilter(f); err != nil {
			return err
		}
		p.Filters = append(p.Filters, f)
	}
	if len(p.Filters) == 0 {
		return ErrNoTopics // [MQTT-3.10.3-2]
	}
	return nil
}

func (p *Unsubscribe) lens(v Version) (rl, pl int) {
	rl = 2
	if v == V5 {
		pl = p.Properties.len(int(TypeUnsubscribe))
		rl += VarintLen(pl) + pl
	}
	for _, f := range p.Filters {
		rl += 2 + len(f)
	}
	return rl, pl
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Unsubscribe) Size(v Version) int {
	rl, _ := p.lens(v)
	return packetLen(rl)
}
