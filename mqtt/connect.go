package mqtt

import (
	"bytes"
	"encoding/binary"
)

// Protocol names carried by CONNECT [MQTT-3.1.2.1].
var (
	protoMQTT   = []byte("MQTT")
	protoMQIsdp = []byte("MQIsdp")
)

// maxClientIDV31 is the longest client identifier MQTT 3.1 accepts.
const maxClientIDV31 = 23

// Will is the will message of a CONNECT [MQTT-3.1.2.5].
type Will struct {
	// QoS is the will QoS, 0 to 2.
	QoS byte
	// Retain is the will retain flag.
	Retain bool
	// Properties are the MQTT 5 will properties.
	Properties Properties
	// Topic is the will topic name.
	Topic []byte
	// Payload is the will message.
	Payload []byte
}

// Connect is a CONNECT packet [MQTT-3.1].
type Connect struct {
	// Version is the protocol level; Decode sets it from the packet (and
	// sets it even when it fails with ErrProtocolVersion, so the broker can
	// choose the CONNACK format).
	Version Version
	// Bridge is bit 7 of the protocol level, which Mosquitto-style bridges
	// set to announce themselves (protocol level 0x83 or 0x84).
	Bridge bool
	// CleanStart is Clean Session in 3.1/3.1.1 and Clean Start in 5.0.
	CleanStart bool
	// KeepAlive is the keep alive interval in seconds.
	KeepAlive uint16
	// Properties are the MQTT 5 properties.
	Properties Properties
	// ClientID is the client identifier.
	ClientID []byte
	// HasWill reports whether Will is present (the will flag).
	HasWill bool
	// Will is the will message when HasWill is set.
	Will Will
	// HasUsername reports whether Username is present.
	HasUsername bool
	// Username is the user name.
	Username []byte
	// HasPassword reports whether Password is present.
	HasPassword bool
	// Password is the password.
	Password []byte
}

// CONNECT flag bits [MQTT-3.1.2.3].
const (
	connectReserved   = 0x01
	connectClean      = 0x02
	connectWill       = 0x04
	connectWillQoS    = 0x18
	connectWillRetain = 0x20
	connectPassword   = 0x40
	connectUsername   = 0x80
)

// Decode parses the body of a CONNECT frame returned by Frame; the protocol
// version comes from the packet itself and is left in p.Version. The byte
// slices of p alias body: they stay valid only while body's bytes do.
// Decoding into a reused value does not allocate once its property slices
// have grown to size.
//
// Decode checks the protocol name (ErrProtocolName) and level
// (ErrProtocolVersion), the connect flags (ErrConnectReserved, ErrWillFlags,
// ErrQoS, ErrPasswordFlag before 5.0), the client identifier (ErrClientID:
// 1 to 23 bytes in 3.1, non-empty without clean session in 3.1.1), the will
// topic (ValidTopicName), every string (ErrUTF8) and the properties,
// including Authentication Data without Authentication Method (ErrAuthData).
func (p *Connect) Decode(h FixedHeader, body []byte) error {
	if err := checkHeader(h, TypeConnect); err != nil {
		return err
	}
	r := reader{b: body}
	name, err := r.binary()
	if err != nil {
		return err
	}
	level, err := r.byte()
	if err != nil {
		return err
	}
	p.Bridge = level&0x80 != 0
	p.Version = Version(level &^ 0x80)
	switch {
	case bytes.Equal(name, protoMQTT):
		if p.Version != V311 && p.Version != V5 {
			return ErrProtocolVersion // [MQTT-3.1.2-2]
		}
	case bytes.Equal(name, protoMQIsdp):
		if p.Version != V31 {
			return ErrProtocolVersion
		}
	default:
		return ErrProtocolName // [MQTT-3.1.2-1]
	}
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags&connectReserved != 0 {
		return ErrConnectReserved // [MQTT-3.1.2-3]
	}
	p.CleanStart = flags&connectClean != 0
	p.HasWill = flags&connectWill != 0
	p.Will.QoS = flags & connectWillQoS >> 3
	p.Will.Retain = flags&connectWillRetain != 0
	p.HasUsername = flags&connectUsername != 0
	p.HasPassword = flags&connectPassword != 0
	if p.Will.QoS == 3 {
		return ErrQoS // [MQTT-3.1.2-14]
	}
	if !p.HasWill && (p.Will.QoS != 0 || p.Will.Retain) {
		return ErrWillFlags // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]
	}
	if p.Version != V5 && p.HasPassword && !p.HasUsername {
		return ErrPasswordFlag // [MQTT-3.1.2-22]
	}
	if p.KeepAlive, err = r.uint16(); err != nil {
		return err
	}
	if p.Version == V5 {
		n, err := p.Properties.decode(r.rest(), int(TypeConnect))
		if err != nil {
			return err
		}
		r.i += n
		if p.Properties.Present.Has(PropAuthData) && !p.Properties.Present.Has(PropAuthMethod) {
			return ErrAuthData // [MQTT-3.1.2.11.10]
		}
	} else {
		p.Properties.Reset()
	}
	if p.ClientID, err = r.str(); err != nil {
		return err
	}
	switch p.Version {
	case V31:
		if len(p.ClientID) == 0 || len(p.ClientID) > maxClientIDV31 {
			return ErrClientID // MQTT 3.1: 1 to 23 characters
		}
	case V311:
		if len(p.ClientID) == 0 && !p.CleanStart {
			return ErrClientID // [MQTT-3.1.3-8]
		}
	}
	if err := p.decodeWill(&r); err != nil {
		return err
	}
	p.Username, p.Password = nil, nil
	if p.HasUsername {
		if p.Username, err = r.str(); err != nil {
			return err
		}
	}
	if p.HasPassword {
		if p.Password, err = r.binary(); err != nil {
			return err
		}
	}
	if !r.done() {
		return ErrTrailing
	}
	return nil
}

// decodeWill reads the will properties, topic and payload when the will
// flag is set and clears the will otherwise.
func (p *Connect) decodeWill(r *reader) error {
	w := &p.Will
	w.Topic, w.Payload = nil, nil
	if p.Version == V5 && p.HasWill {
		n, err := w.Properties.decode(r.rest(), targetWill)
		if err != nil {
			return err
		}
		r.i += n
	} else {
		w.Properties.Reset()
	}
	if !p.HasWill {
		return nil
	}
	var err error
	if w.Topic, err = r.str(); err != nil {
		return err
	}
	if err := ValidTopicName(w.Topic); err != nil {
		return err // [MQTT-3.1.3-11]
	}
	w.Payload, err = r.binary()
	return err
}

// flags returns the connect flags of p.
func (p *Connect) flags() byte {
	var f byte
	if p.CleanStart {
		f |= connectClean
	}
	if p.HasWill {
		f |= connectWill | (p.Will.QoS&3)<<3
		if p.Will.Retain {
			f |= connectWillRetain
		}
	}
	if p.HasUsername {
		f |= connectUsername
	}
	if p.HasPassword {
		f |= connectPassword
	}
	return f
}

// lens returns the remaining length of p encoded for v and the lengths of
// its properties and will properties.
func (p *Connect) lens(v Version) (rl, pl, wl int) {
	name := protoMQTT
	if v == V31 {
		name = protoMQIsdp
	}
	rl = 2 + len(name) + 1 + 1 + 2 + 2 + len(p.ClientID)
	if v == V5 {
		pl = p.Properties.len(int(TypeConnect))
		rl += VarintLen(pl) + pl
	}
	if p.HasWill {
		if v == V5 {
			wl = p.Will.Properties.len(targetWill)
			rl += VarintLen(wl) + wl
		}
		rl += 2 + len(p.Will.Topic) + 2 + len(p.Will.Payload)
	}
	if p.HasUsername {
		rl += 2 + len(p.Username)
	}
	if p.HasPassword {
		rl += 2 + len(p.Password)
	}
	return rl, pl, wl
}

// Size returns the length of p encoded for v, fixed header included.
func (p *Connect) Size(v Version) int {
	rl, _, _ := p.lens(v)
	return packetLen(rl)
}

// AppendConnect appends p encoded for protocol version v (which decides the
// protocol name and level; p.Version is ignored) to dst and returns the
// extended slice. Bridge sets bit 7 of the level. Properties are written for
// V5 only. It does not validate p.
func AppendConnect(dst []byte, p *Connect, v Version) []byte {
	rl, pl, wl := p.lens(v)
	dst = appendHeader(dst, TypeConnect, 0, rl)
	if v == V31 {
		dst = appendBytes(dst, protoMQIsdp)
	} else {
		dst = appendBytes(dst, protoMQTT)
	}
	level := byte(v)
	if p.Bridge {
		level |= 0x80
	}
	dst = append(dst, level, p.flags())
	dst = binary.BigEndian.AppendUint16(dst, p.KeepAlive)
	if v == V5 {
		dst = p.Properties.append(dst, int(TypeConnect), pl)
	}
	dst = appendBytes(dst, p.ClientID)
	if p.HasWill {
		if v == V5 {
			dst = p.Will.Properties.append(dst, targetWill, wl)
		}
		dst = appendBytes(dst, p.Will.Topic)
		dst = appendBytes(dst, p.Will.Payload)
	}
	if p.HasUsername {
		dst = appendBytes(dst, p.Username)
	}
	if p.HasPassword {
		dst = appendBytes(dst, p.Password)
	}
	return dst
}
