package mqtt

// Disconnect is a DISCONNECT packet [MQTT-3.14].
type Disconnect struct {
	// ReasonCode is the MQTT 5 reason code (NormalDisconnection before 5.0).
	ReasonCode ReasonCode
	// Properties are the MQTT 5 properties.
	Properties Properties
}

// Decode parses the body of a DISCONNECT frame for protocol version v.
// Before 5.0 the body must be empty (ErrTrailing); in 5.0 a missing reason
// code means NormalDisconnection and missing properties mean none
// [MQTT-3.14.2.1]. It checks the reason code (ErrReasonCode) and the
// properties; the byte slices in p.Properties alias body.
func (p *Disconnect) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeReasonProps(h, body, v, TypeDisconnect, &disconnectCodes, &p.ReasonCode, &p.Properties)
}

// decodeReasonProps parses a DISCONNECT or AUTH body: an optional reason
// code and optional properties.
func decodeReasonProps(h FixedHeader, body []byte, v Version, t PacketType, valid *codeSet,
	rc *ReasonCode, props *Properties) error {
	if err := checkHeader(h, t); err != nil {
		return err
	}
	*rc = Success
	props.Reset()
	if v != V5 || len(body) == 0 {
		if len(body) != 0 {
			return ErrTrailing
		}
		return nil
	}
	*rc = ReasonCode(body[0])
	if !valid.has(*rc) {
		return ErrReasonCode
	}
	if len(body) == 1 {
		return nil
	}
	n, err := props.decode(body[1:], int(t))
	if err != nil {
		return err
	}
	if 1+n != len(body) {
		return ErrTrailing
	}
	return nil
}

// reasonPropsLens returns the remaining length of a DISCONNECT or AUTH and
// the length of its properties.
func reasonPropsLens(v Version, t PacketType, rc ReasonCode, props *Properties) (rl, pl int) {
	if v != V5 {
		return 0, 0
	}
	pl = props.len(int(t))
	switch {
	case pl > 0:
		return 1 + VarintLen(pl) + pl, pl
	case rc != Success && t == TypeAuth:
		// [MQTT-3.15.2.1] AUTH omits the reason code and the property
		// length together or not at all.
		return 2, 0
	case rc != Success || t == TypeDisconnect:
		// DISCONNECT always carries its reason code although the
		// specification lets Normal Disconnection go [MQTT-3.14.2.1]:
		// paho.golang (v0.23.0) fails to read a DISCONNECT with remaining
		// length 0.
		return 1, 0
	}
	return 0, 0
}

func appendReasonProps(dst []byte, v Version, t PacketType, rc ReasonCode, props *Properties) []byte {
	rl, pl := reasonPropsLens(v, t, rc, props)
	dst = appendHeader(dst, t, 0, rl)
	if rl > 0 {
		dst = append(dst, byte(rc))
	}
	if rl > 1 {
		dst = props.append(dst, int(t), pl)
	}
	return dst
}

// AppendDisconnect appends p encoded for protocol version v to dst and
// returns the extended slice. Before 5.0 DISCONNECT has no body; in 5.0 the
// property length is omitted when there are no properties and the reason
// code is always written [MQTT-3.14.2.1].
// A server sends DISCONNECT to clients of 5.0 only.
func AppendDisconnect(dst []byte, p *Disconnect, v Version) []byte {
	return appendReasonProps(dst, v, TypeDisconnect, p.ReasonCode, &p.Properties)
}
