package mqtt

// Connack is a CONNACK packet [MQTT-3.2].
type Connack struct {
	// SessionPresent is the session present flag.
	SessionPresent bool
	// ReasonCode is the MQTT 5 reason code, or the 3.1/3.1.1 return code
	// (ConnAccepted, ConnRefusedUnacceptableProtocol, ...).
	ReasonCode ReasonCode
	// Properties are the MQTT 5 properties.
	Properties Properties
}

// Decode parses the body of a CONNACK frame for protocol version v. The
// byte slices in p.Properties alias body. It checks the acknowledge flags
// (ErrConnackFlags), the reason or return code (ErrReasonCode), the length
// (ErrTruncated, ErrTrailing) and the properties.
func (p *Connack) Decode(h FixedHeader, body []byte, v Version) error {
	if err := checkHeader(h, TypeConnack); err != nil {
		return err
	}
	r := reader{b: body}
	flags, err := r.byte()
	if err != nil {
		return err
	}
	c, err := r.byte()
	if err != nil {
		return err
	}
	p.SessionPresent = flags&1 != 0
	p.ReasonCode = ReasonCode(c)
	if flags&^1 != 0 {
		return ErrConnackFlags // [MQTT-3.2.2-1] reserved bits
	}
	if v == V5 {
		if !connackCodes.has(p.ReasonCode) {
			return ErrReasonCode
		}
		n, err := p.Properties.decode(r.rest(), int(TypeConnack))
		if err != nil {
			return err
		}
		r.i += n
		if p.Properties.Present.Has(PropAuthData) && !p.Properties.Present.Has(PropAuthMethod) {
			return ErrAuthData
		}
	} else {
		p.Properties.Reset()
		if !connackV3Codes.has(p.ReasonCode) {
			return ErrReasonCode
		}
	}
	if p.SessionPresent && p.ReasonCode != Success {
		return ErrConnackFlags // [MQTT-3.2.2-4] [MQTT-3.2.2-6]
	}
	if !r.done() {
		return ErrTrailing
	}
	return nil
}

func (p *Connack) lens(v Version) (rl, pl int) {
	rl = 2
	if v == V5 {
		pl = p.Properties.len(int(TypeConnack))
		rl += VarintLen(pl) + pl
	}
	return rl, pl
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Connack) Size(v Version) int {
	rl, _ := p.lens(v)
	return packetLen(rl)
}

// AppendConnack appends p encoded for protocol version v to dst and returns
// the extended slice. Before 5.0 the reason code passes through ConnackV3,
// so a broker may use MQTT 5 codes for every version, and no properties are
// written.
func AppendConnack(dst []byte, p *Connack, v Version) []byte {
	rl, pl := p.lens(v)
	dst = appendHeader(dst, TypeConnack, 0, rl)
	var flags byte
	if p.SessionPresent {
		flags = 1
	}
	rc := p.ReasonCode
	if v != V5 {
		rc = ConnackV3(rc)
	}
	dst = append(dst, flags, byte(rc))
	if v == V5 {
		dst = p.Properties.append(dst, int(TypeConnack), pl)
	}
	return dst
}
