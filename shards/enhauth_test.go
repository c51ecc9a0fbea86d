package shards

import (
	"bytes"
	"testing"

	"github.com/shardmq/shardmq/mqtt"
	"github.com/shardmq/shardmq/netio"
)

// challengeAuth is a toy two-round method: the client says "hello", is
// challenged, and must answer "response".
type challengeAuth struct{}

func (challengeAuth) Method() string { return "CHALLENGE" }

func (challengeAuth) Step(id string, state any, data []byte) (any, []byte, bool, error) {
	switch {
	case state == nil && bytes.Equal(data, []byte("hello")):
		return "challenged", []byte("challenge"), false, nil
	case state == "challenged" && bytes.Equal(data, []byte("response")):
		return nil, []byte("ok"), true, nil
	}
	return nil, nil, false, mqtt.NotAuthorized
}

// tokenAuth is a one-round method.
type tokenAuth struct{}

func (tokenAuth) Method() string { return "TOKEN" }

func (tokenAuth) Step(id string, state any, data []byte) (any, []byte, bool, error) {
	if string(data) == "good" {
		return nil, nil, true, nil
	}
	return nil, nil, false, mqtt.BadUserNameOrPassword
}

func authConnect(id, method, data string) *mqtt.Connect {
	cp := conn5(id)
	cp.Properties.Present.Add(mqtt.PropAuthMethod)
	cp.Properties.AuthMethod = []byte(method)
	cp.Properties.Present.Add(mqtt.PropAuthData)
	cp.Properties.AuthData = []byte(data)
	return cp
}

func authPacket(rc mqtt.ReasonCode, method, data string) []byte {
	p := mqtt.Auth{ReasonCode: rc}
	p.Properties.Present.Add(mqtt.PropAuthMethod)
	p.Properties.AuthMethod = []byte(method)
	p.Properties.Present.Add(mqtt.PropAuthData)
	p.Properties.AuthData = []byte(data)
	return mqtt.AppendAuth(nil, &p, mqtt.V5)
}

// readAuth reads an AUTH packet.
func (rc *rawClient) readAuth() *mqtt.Auth {
	rc.t.Helper()
	h, body := rc.read()
	if h.Type != mqtt.TypeAuth {
		rc.t.Fatalf("got %v, want AUTH", h.Type)
	}
	var p mqtt.Auth
	if err := p.Decode(h, body, mqtt.V5); err != nil {
		rc.t.Fatal(err)
	}
	return &p
}

func (rc *rawClient) readConnack() *mqtt.Connack {
	rc.t.Helper()
	h, body := rc.read()
	if h.Type != mqtt.TypeConnack {
		rc.t.Fatalf("got %v, want CONNACK", h.Type)
	}
	var p mqtt.Connack
	if err := p.Decode(h, body, mqtt.V5); err != nil {
		rc.t.Fatal(err)
	}
	return &p
}

func TestEnhancedAuthentication(t *testing.T) {
	tb := startBroker(t, Config{Authenticators: []Authenticator{challengeAuth{}, tokenAuth{}}}, netio.Config{})
	t.Run("unsupported_method", func(t *testing.T) {
		rc := dialRaw(t, tb.addr, mqtt.V5)
		rc.write(mqtt.AppendConnect(nil, authConnect("ea-x", "KERBEROS", "x"), mqtt.V5))
		if a := rc.readConnack(); a.ReasonCode != mqtt.BadAuthenticationMethod {
			t.Fatalf("reason %v", a.ReasonCode)
		}
		rc.expectClosed()
	})
	t.Run("one_round", func(t *testing.T) {
		_, ack := connectRaw(t, tb.addr, authConnect("ea-1", "TOKEN", "good"))
		if ack.ReasonCode != mqtt.Success || string(ack.Properties.AuthMethod) != "TOKEN" {
			t.Fatalf("ack %+v", ack)
		}
	})
	t.Run("one_round_refused", func(t *testing.T) {
		rc := dialRaw(t, tb.addr, mqtt.V5)
		rc.write(mqtt.AppendConnect(nil, authConnect("ea-1r", "TOKEN", "bad"), mqtt.V5))
		if a := rc.readConnack(); a.ReasonCode != mqtt.BadUserNameOrPassword {
			t.Fatalf("reason %v", a.ReasonCode)
		}
		rc.expectClosed()
	})
	challenge := func(t *testing.T, id string) *rawClient {
		t.Helper()
		rc := dialRaw(t, tb.addr, mqtt.V5)
		rc.write(mqtt.AppendConnect(nil, authConnect(id, "CHALLENGE", "hello"), mqtt.V5))
		a := rc.readAuth()
		if a.ReasonCode != mqtt.ContinueAuthentication || string(a.Properties.AuthMethod) != "CHALLENGE" ||
			string(a.Properties.AuthData) != "challenge" {
			t.Fatalf("auth %+v", a)
		}
		return rc
	}
	t.Run("two_rounds", func(t *testing.T) {
		rc := challenge(t, "ea-2")
		rc.write(authPacket(mqtt.ContinueAuthentication, "CHALLENGE", "response"))
		ack := rc.readConnack()
		if ack.ReasonCode != mqtt.Success || string(ack.Properties.AuthMethod) != "CHALLENGE" || string(ack.Properties.AuthData) != "ok" {
			t.Fatalf("ack %+v", ack)
		}
		if codes := rc.subscribe(1, sub("ea/t", 0)); codes[0] != mqtt.GrantedQoS0 {
			t.Fatalf("suback %v", codes)
		}
		// Re-authentication, twice through the challenge.
		for i := 0; i < 2; i++ {
			rc.write(authPacket(mqtt.ReAuthenticate, "CHALLENGE", "hello"))
			if a := rc.readAuth(); a.ReasonCode != mqtt.ContinueAuthentication {
				t.Fatalf("reauth %d: %v", i, a.ReasonCode)
			}
			rc.write(authPacket(mqtt.ContinueAuthentication, "CHALLENGE", "response"))
			if a := rc.readAuth(); a.ReasonCode != mqtt.Success || string(a.Properties.AuthData) != "ok" {
				t.Fatalf("reauth %d: %+v", i, a)
			}
		}
		// A failed re-authentication disconnects.
		rc.write(authPacket(mqtt.ReAuthenticate, "CHALLENGE", "wrong"))
		if code, ok := rc.expectClosed(); !ok || code != mqtt.NotAuthorized {
			t.Fatalf("code %v (%v)", code, ok)
		}
	})
	t.Run("wrong_response", func(t *testing.T) {
		rc := challenge(t, "ea-3")
		rc.write(authPacket(mqtt.ContinueAuthentication, "CHALLENGE", "nope"))
		if a := rc.readConnack(); a.ReasonCode != mqtt.NotAuthorized {
			t.Fatalf("reason %v", a.ReasonCode)
		}
		rc.expectClosed()
	})
	t.Run("other_method_in_exchange", func(t *testing.T) {
		rc := challenge(t, "ea-4")
		rc.write(authPacket(mqtt.ContinueAuthentication, "TOKEN", "good"))
		rc.expectClosed()
	})
	t.Run("auth_without_method_at_connect", func(t *testing.T) {
		rc, _ := connectRaw(t, tb.addr, conn5("ea-5"))
		rc.write(authPacket(mqtt.ReAuthenticate, "TOKEN", "good"))
		if code, ok := rc.expectClosed(); !ok || code != mqtt.ProtocolError {
			t.Fatalf("code %v (%v)", code, ok)
		}
	})
}
