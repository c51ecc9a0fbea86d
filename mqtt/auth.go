package mqtt

// Auth is an AUTH packet [MQTT-3.15], which exists in MQTT 5 only.
type Auth struct {
	// ReasonCode is Success, ContinueAuthentication or ReAuthenticate.
	ReasonCode ReasonCode
	// Properties are the MQTT 5 properties (authentication method and data,
	// reason string, user properties).
	Properties Properties
}

// Decode parses the body of an AUTH frame for protocol version v. Before
// 5.0 packet type 15 is reserved (ErrPacketType). A missing reason code
// means Success [MQTT-3.15.2.1]. It checks the reason code (ErrReasonCode),
// the properties and Authentication Data without Authentication Method
// (ErrAuthData); the byte slices in p.Properties alias body.
func (p *Auth) Decode(h FixedHeader, body []byte, v Version) error {
	if v != V5 {
		return ErrPacketType
	}
	if err := decodeReasonProps(h, body, v, TypeAuth, &authCodes, &p.ReasonCode, &p.Properties); err != nil {
		return err
	}
	if p.Properties.Present.Has(PropAuthData) && !p.Properties.Present.Has(PropAuthMethod) {
		return ErrAuthData
	}
	return nil
}

// AppendAuth appends p encoded for MQTT 5 to dst and returns the extended
// slice; v is accepted for symmetry with the other encoders and ignored,
// since AUTH exists only in 5.0.
func AppendAuth(dst []byte, p *Auth, v Version) []byte {
	return appendReasonProps(dst, V5, TypeAuth, p.ReasonCode, &p.Properties)
}
