package mqtt

// Pingreq is a PINGREQ packet [MQTT-3.12]; it has no fields.
type Pingreq struct{}

// Pingresp is a PINGRESP packet [MQTT-3.13]; it has no fields.
type Pingresp struct{}

// Decode checks a PINGREQ frame: flags 0 and an empty body (ErrTrailing).
func (p *Pingreq) Decode(h FixedHeader, body []byte, v Version) error {
	return decodeEmpty(h, body, TypePingreq)
}

func decodeEmpty(h FixedHeader, body []byte, t PacketType) error {
	if err := checkHeader(h, t); err != nil {
		return err
	}
	if len(body) != 0 {
		return ErrTrailing
	}
	return nil
}

// AppendPingresp appends a PINGRESP to dst and returns the extended slice.
func AppendPingresp(dst []byte, p *Pingresp, v Version) []byte {
	return append(dst, byte(TypePingresp)<<4, 0)
}
