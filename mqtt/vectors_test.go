package mqtt

// vector is one complete, valid packet written by hand from the
// specification, with the packet it decodes to.
type vector struct {
	name string
	v    Version
	raw  []byte
	want any
	// lenient marks a valid packet that is not in the form the encoders
	// produce (an optional field written out), so it is not round-tripped
	// byte for byte; canon is then what the encoders produce instead.
	lenient bool
	canon   []byte
}

var vectors = []vector{
	// ---- CONNECT ----
	{name: "connect/v3.1", v: V31, raw: []byte{
		0x10, 0x11, // CONNECT, remaining length 17
		0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
		0x03,       // protocol level 3
		0x02,       // flags: clean session
		0x00, 0x0a, // keep alive 10 s
		0x00, 0x03, 'a', 'b', 'c', // client id "abc"
	}, want: &Connect{Version: V31, CleanStart: true, KeepAlive: 10, ClientID: b("abc")}},
	{name: "connect/v3.1.1/minimal", v: V311, raw: []byte{
		0x10, 0x0c, // CONNECT, remaining length 12
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x04,       // protocol level 4
		0x02,       // flags: clean session
		0x00, 0x00, // keep alive 0
		0x00, 0x00, // empty client id (allowed with clean session)
	}, want: &Connect{Version: V311, CleanStart: true, ClientID: b("")}},
	{name: "connect/v3.1.1/will-user-password", v: V311, raw: []byte{
		0x10, 0x1f, // CONNECT, remaining length 31
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x04,       // protocol level 4
		0xee,       // flags: user name, password, will retain, will QoS 1, will, clean session
		0x00, 0x3c, // keep alive 60 s
		0x00, 0x02, 'c', '1', // client id "c1"
		0x00, 0x03, 'w', '/', 't', // will topic "w/t"
		0x00, 0x03, 'b', 'y', 'e', // will payload "bye"
		0x00, 0x01, 'u', // user name "u"
		0x00, 0x02, 'p', 'w', // password "pw"
	}, want: &Connect{Version: V311, CleanStart: true, KeepAlive: 60, ClientID: b("c1"),
		HasWill: true, Will: Will{QoS: 1, Retain: true, Topic: b("w/t"), Payload: b("bye")},
		HasUsername: true, Username: b("u"), HasPassword: true, Password: b("pw")}},
	{name: "connect/v3.1.1/bridge", v: V311, raw: []byte{
		0x10, 0x0d, // CONNECT, remaining length 13
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x84,       // protocol level 4 with the bridge bit
		0x00,       // flags: none (persistent session)
		0x00, 0x05, // keep alive 5 s
		0x00, 0x01, 'b', // client id "b"
	}, want: &Connect{Version: V311, Bridge: true, KeepAlive: 5, ClientID: b("b")}},
	{name: "connect/v5/properties-will", v: V5, raw: []byte{
		0x10, 0x32, // CONNECT, remaining length 50
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x05,       // protocol level 5
		0xc6,       // flags: user name, password, will (QoS 0, no retain), clean start
		0x00, 0x1e, // keep alive 30 s
		0x0f,                         // property length 15
		0x11, 0x00, 0x00, 0x00, 0x78, // session expiry interval 120 s
		0x21, 0x00, 0x14, // receive maximum 20
		0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', // user property k=v
		0x00, 0x02, 'i', 'd', // client id "id"
		0x07,       // will property length 7
		0x01, 0x01, // payload format indicator 1 (UTF-8)
		0x18, 0x00, 0x00, 0x00, 0x05, // will delay interval 5 s
		0x00, 0x01, 't', // will topic "t"
		0x00, 0x01, 'x', // will payload "x"
		0x00, 0x01, 'u', // user name "u"
		0x00, 0x01, 'p', // password "p"
	}, want: &Connect{Version: V5, CleanStart: true, KeepAlive: 30,
		Properties: props(Properties{SessionExpiry: 120, ReceiveMaximum: 20,
			User: []UserProperty{{b("k"), b("v")}}}, PropSessionExpiry, PropReceiveMaximum),
		ClientID: b("id"), HasWill: true,
		Will: Will{Properties: props(Properties{PayloadFormat: 1, WillDelay: 5}, PropPayloadFormat, PropWillDelay),
			Topic: b("t"), Payload: b("x")},
		HasUsername: true, Username: b("u"), HasPassword: true, Password: b("p")}},
	{name: "connect/v5/password-without-user-auth-method", v: V5, raw: []byte{
		0x10, 0x1c, // CONNECT, remaining length 28
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x05,       // protocol level 5
		0x40,       // flags: password only (allowed in 5.0)
		0x00, 0x00, // keep alive 0
		0x0c,                                      // property length 12
		0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M', // authentication method "SCRAM"
		0x16, 0x00, 0x01, 0x07, // authentication data 07
		0x00, 0x00, // empty client id (server assigns one)
		0x00, 0x01, 's', // password "s"
	}, want: &Connect{Version: V5, Properties: props(Properties{AuthMethod: b("SCRAM"), AuthData: []byte{7}},
		PropAuthMethod, PropAuthData), ClientID: b(""), HasPassword: true, Password: b("s")}},

	{name: "connect/v5/every-property", v: V5, raw: []byte{
		0x10, 0x56, // CONNECT, remaining length 86
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
		0x05,       // protocol level 5
		0x16,       // flags: will QoS 2, will, clean start
		0x00, 0x00, // keep alive 0
		0x23,                         // property length 35
		0x11, 0x00, 0x00, 0x01, 0x2c, // session expiry interval 300 s
		0x15, 0x00, 0x01, 'm', // authentication method "m"
		0x16, 0x00, 0x01, 0x2a, // authentication data 2a
		0x17, 0x00, // request problem information 0
		0x19, 0x01, // request response information 1
		0x21, 0x00, 0x64, // receive maximum 100
		0x22, 0x00, 0x10, // topic alias maximum 16
		0x27, 0x00, 0x10, 0x00, 0x00, // maximum packet size 1 MiB
		0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b', // user property a=b
		0x00, 0x01, 'c', // client id "c"
		0x1f,       // will property length 31
		0x01, 0x00, // payload format indicator 0
		0x02, 0x00, 0x00, 0x00, 0x3c, // message expiry interval 60 s
		0x03, 0x00, 0x01, 'j', // content type "j"
		0x08, 0x00, 0x01, 'r', // response topic "r"
		0x09, 0x00, 0x01, 0x05, // correlation data 05
		0x18, 0x00, 0x00, 0x00, 0x00, // will delay interval 0
		0x26, 0x00, 0x01, 'x', 0x00, 0x01, 'y', // user property x=y
		0x00, 0x01, 'w', // will topic "w"
		0x00, 0x00, // empty will payload
	}, want: &Connect{Version: V5, CleanStart: true,
		Properties: props(Properties{SessionExpiry: 300, AuthMethod: b("m"), AuthData: []byte{0x2a},
			RequestResponseInfo: 1, ReceiveMaximum: 100, TopicAliasMaximum: 16, MaximumPacketSize: 1 << 20,
			User: []UserProperty{{b("a"), b("b")}}},
			PropSessionExpiry, PropAuthMethod, PropAuthData, PropRequestProblemInfo, PropRequestResponseInfo,
			PropReceiveMaximum, PropTopicAliasMaximum, PropMaximumPacketSize),
		ClientID: b("c"), HasWill: true,
		Will: Will{QoS: 2, Properties: props(Properties{MessageExpiry: 60, ContentType: b("j"), ResponseTopic: b("r"),
			CorrelationData: []byte{5}, User: []UserProperty{{b("x"), b("y")}}},
			PropPayloadFormat, PropMessageExpiry, PropContentType, PropResponseTopic, PropCorrelationData, PropWillDelay),
			Topic: b("w"), Payload: b("")}}},

	// ---- CONNACK ----
	{name: "connack/v3.1/accepted", v: V31, raw: []byte{
		0x20, 0x02, // CONNACK, remaining length 2
		0x00, // acknowledge flags: none
		0x00, // return code 0 accepted
	}, want: &Connack{}},
	{name: "connack/v3.1.1/session-present", v: V311, raw: []byte{
		0x20, 0x02, // CONNACK, remaining length 2
		0x01, // acknowledge flags: session present
		0x00, // return code 0 accepted
	}, want: &Connack{SessionPresent: true}},
	{name: "connack/v3.1.1/not-authorized", v: V311, raw: []byte{
		0x20, 0x02, // CONNACK, remaining length 2
		0x00, // acknowledge flags: none
		0x05, // return code 5 not authorized
	}, want: &Connack{ReasonCode: ConnRefusedNotAuthorized}},
	{name: "connack/v5/success", v: V5, raw: []byte{
		0x20, 0x03, // CONNACK, remaining length 3
		0x00, // acknowledge flags: none
		0x00, // reason code success
		0x00, // property length 0
	}, want: &Connack{}},
	{name: "connack/v5/properties", v: V5, raw: []byte{
		0x20, 0x13, // CONNACK, remaining length 19
		0x01,                  // acknowledge flags: session present
		0x00,                  // reason code success
		0x10,                  // property length 16
		0x12, 0x00, 0x01, 'a', // assigned client identifier "a"
		0x1f, 0x00, 0x02, 'o', 'k', // reason string "ok"
		0x22, 0x00, 0x0a, // topic alias maximum 10
		0x24, 0x01, // maximum QoS 1
		0x25, 0x00, // retain available 0
	}, want: &Connack{SessionPresent: true, Properties: props(Properties{AssignedClientID: b("a"),
		ReasonString: b("ok"), TopicAliasMaximum: 10, MaximumQoS: 1},
		PropAssignedClientID, PropReasonString, PropTopicAliasMaximum, PropMaximumQoS, PropRetainAvailable)}},
	{name: "connack/v5/bad-auth-method", v: V5, raw: []byte{
		0x20, 0x03, // CONNACK, remaining length 3
		0x00, // acknowledge flags: none
		0x8c, // reason code bad authentication method
		0x00, // property length 0
	}, want: &Connack{ReasonCode: BadAuthenticationMethod}},

	{name: "connack/v5/every-property", v: V5, raw: []byte{
		0x20, 0x3b, // CONNACK, remaining length 59
		0x00,                         // acknowledge flags: none
		0x00,                         // reason code success
		0x38,                         // property length 56
		0x11, 0x00, 0x00, 0x00, 0x0a, // session expiry interval 10 s
		0x12, 0x00, 0x01, 'z', // assigned client identifier "z"
		0x13, 0x00, 0x3c, // server keep alive 60 s
		0x15, 0x00, 0x01, 'm', // authentication method "m"
		0x16, 0x00, 0x00, // empty authentication data
		0x1a, 0x00, 0x01, 'i', // response information "i"
		0x1c, 0x00, 0x01, 's', // server reference "s"
		0x1f, 0x00, 0x00, // empty reason string
		0x21, 0xff, 0xff, // receive maximum 65535
		0x22, 0x00, 0x00, // topic alias maximum 0
		0x24, 0x00, // maximum QoS 0
		0x25, 0x01, // retain available 1
		0x27, 0x00, 0x00, 0x01, 0x00, // maximum packet size 256
		0x28, 0x01, // wildcard subscription available 1
		0x29, 0x00, // subscription identifiers available 0
		0x2a, 0x01, // shared subscription available 1
		0x26, 0x00, 0x00, 0x00, 0x00, // user property ""=""
	}, want: &Connack{Properties: props(Properties{SessionExpiry: 10, AssignedClientID: b("z"), ServerKeepAlive: 60,
		AuthMethod: b("m"), AuthData: b(""), ResponseInfo: b("i"), ServerReference: b("s"), ReasonString: b(""),
		ReceiveMaximum: 65535, RetainAvailable: 1, MaximumPacketSize: 256, WildcardSubAvailable: 1,
		SharedSubAvailable: 1, User: []UserProperty{{b(""), b("")}}},
		PropSessionExpiry, PropAssignedClientID, PropServerKeepAlive, PropAuthMethod, PropAuthData, PropResponseInfo,
		PropServerReference, PropReasonString, PropReceiveMaximum, PropTopicAliasMaximum, PropMaximumQoS,
		PropRetainAvailable, PropMaximumPacketSize, PropWildcardSubAvailable, PropSubIDAvailable, PropSharedSubAvailable)}},

	// ---- PUBLISH ----
	{name: "publish/v3.1/qos0", v: V31, raw: []byte{
		0x30, 0x05, // PUBLISH QoS 0, remaining length 5
		0x00, 0x01, 't', // topic "t"
		'h', 'i', // payload "hi"
	}, want: &Publish{Topic: b("t"), Payload: b("hi")}},
	{name: "publish/v3.1.1/qos0", v: V311, raw: []byte{
		0x30, 0x0a, // PUBLISH QoS 0, remaining length 10
		0x00, 0x03, 'a', '/', 'b', // topic "a/b"
		'h', 'e', 'l', 'l', 'o', // payload "hello"
	}, want: &Publish{Topic: b("a/b"), Payload: b("hello")}},
	{name: "publish/v3.1.1/qos1-dup-retain", v: V311, raw: []byte{
		0x3b, 0x08, // PUBLISH DUP, QoS 1, RETAIN, remaining length 8
		0x00, 0x03, 'a', '/', 'b', // topic "a/b"
		0x00, 0x07, // packet identifier 7
		'x', // payload "x"
	}, want: &Publish{Dup: true, QoS: 1, Retain: true, Topic: b("a/b"), PacketID: 7, Payload: b("x")}},
	{name: "publish/v3.1.1/qos2-empty-payload", v: V311, raw: []byte{
		0x34, 0x05, // PUBLISH QoS 2, remaining length 5
		0x00, 0x01, 't', // topic "t"
		0x12, 0x34, // packet identifier 0x1234
	}, want: &Publish{QoS: 2, Topic: b("t"), PacketID: 0x1234}},
	{name: "publish/v5/no-properties", v: V5, raw: []byte{
		0x30, 0x05, // PUBLISH QoS 0, remaining length 5
		0x00, 0x01, 't', // topic "t"
		0x00, // property length 0
		'p',  // payload "p"
	}, want: &Publish{Topic: b("t"), Payload: b("p")}},
	{name: "publish/v5/topic-alias-empty-topic", v: V5, raw: []byte{
		0x30, 0x07, // PUBLISH QoS 0, remaining length 7
		0x00, 0x00, // empty topic (the alias stands for it)
		0x03,             // property length 3
		0x23, 0x00, 0x01, // topic alias 1
		'z', // payload "z"
	}, want: &Publish{Topic: b(""), Properties: props(Properties{TopicAlias: 1}, PropTopicAlias), Payload: b("z")}},
	{name: "publish/v5/qos1-all-properties", v: V5, raw: []byte{
		0x32, 0x32, // PUBLISH QoS 1, remaining length 50
		0x00, 0x03, 'a', '/', 'b', // topic "a/b"
		0x00, 0x01, // packet identifier 1
		0x28,       // property length 40
		0x01, 0x01, // payload format indicator 1
		0x02, 0x00, 0x00, 0x0e, 0x10, // message expiry interval 3600 s
		0x03, 0x00, 0x04, 't', 'e', 'x', 't', // content type "text"
		0x08, 0x00, 0x03, 'r', '/', '1', // response topic "r/1"
		0x09, 0x00, 0x02, 0x01, 0x02, // correlation data 01 02
		0x23, 0x00, 0x03, // topic alias 3
		0x0b, 0x05, // subscription identifier 5
		0x0b, 0x80, 0x01, // subscription identifier 128 (two-byte varint)
		0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', // user property k=v
		'h', 'i', // payload "hi"
	}, want: &Publish{QoS: 1, Topic: b("a/b"), PacketID: 1,
		Properties: props(Properties{PayloadFormat: 1, MessageExpiry: 3600, ContentType: b("text"),
			ResponseTopic: b("r/1"), CorrelationData: []byte{1, 2}, TopicAlias: 3,
			SubscriptionIDs: []uint32{5, 128}, User: []UserProperty{{b("k"), b("v")}}},
			PropPayloadFormat, PropMessageExpiry, PropContentType, PropResponseTopic, PropCorrelationData, PropTopicAlias),
		Payload: b("hi")}},

	// ---- PUBACK, PUBREC, PUBREL, PUBCOMP ----
	{name: "puback/v3.1", v: V31, raw: []byte{
		0x40, 0x02, // PUBACK, remaining length 2
		0x00, 0x07, // packet identifier 7
	}, want: &Puback{PacketID: 7}},
	{name: "puback/v3.1.1", v: V311, raw: []byte{
		0x40, 0x02, // PUBACK, remaining length 2
		0xff, 0xff, // packet identifier 65535
	}, want: &Puback{PacketID: 65535}},
	{name: "puback/v5/short", v: V5, raw: []byte{
		0x40, 0x02, // PUBACK, remaining length 2: success, no properties
		0x00, 0x07, // packet identifier 7
	}, want: &Puback{PacketID: 7}},
	{name: "puback/v5/reason", v: V5, raw: []byte{
		0x40, 0x03, // PUBACK, remaining length 3: no properties
		0x00, 0x07, // packet identifier 7
		0x10, // reason code no matching subscribers
	}, want: &Puback{PacketID: 7, ReasonCode: NoMatchingSubscribers}},
	{name: "puback/v5/properties", v: V5, raw: []byte{
		0x40, 0x0b, // PUBACK, remaining length 11
		0x00, 0x07, // packet identifier 7
		0x97,                                 // reason code quota exceeded
		0x07,                                 // property length 7
		0x1f, 0x00, 0x04, 'f', 'u', 'l', 'l', // reason string "full"
	}, want: &Puback{PacketID: 7, ReasonCode: QuotaExceeded,
		Properties: props(Properties{ReasonString: b("full")}, PropReasonString)}},
	{name: "puback/v5/explicit-success", v: V5, lenient: true, raw: []byte{
		0x40, 0x04, // PUBACK, remaining length 4
		0x00, 0x07, // packet identifier 7
		0x00, // reason code success, written out
		0x00, // property length 0, written out
	}, want: &Puback{PacketID: 7}, canon: []byte{0x40, 0x02, 0x00, 0x07}},
	{name: "pubrec/v3.1", v: V31, raw: []byte{
		0x50, 0x02, // PUBREC, remaining length 2
		0x00, 0x08, // packet identifier 8
	}, want: &Pubrec{PacketID: 8}},
	{name: "pubrec/v3.1.1", v: V311, raw: []byte{
		0x50, 0x02, // PUBREC, remaining length 2
		0x00, 0x08, // packet identifier 8
	}, want: &Pubrec{PacketID: 8}},
	{name: "pubrec/v5/reason", v: V5, raw: []byte{
		0x50, 0x03, // PUBREC, remaining length 3
		0x00, 0x08, // packet identifier 8
		0x80, // reason code unspecified error
	}, want: &Pubrec{PacketID: 8, ReasonCode: UnspecifiedError}},
	{name: "pubrec/v5/properties", v: V5, raw: []byte{
		0x50, 0x0a, // PUBREC, remaining length 10
		0x00, 0x08, // packet identifier 8
		0x00,                              // reason code success
		0x06,                              // property length 6
		0x26, 0x00, 0x00, 0x00, 0x01, 'v', // user property ""="v"
	}, want: &Pubrec{PacketID: 8, Properties: Properties{User: []UserProperty{{b(""), b("v")}}}}},
	{name: "pubrel/v3.1", v: V31, raw: []byte{
		0x62, 0x02, // PUBREL (flags 0010), remaining length 2
		0x00, 0x09, // packet identifier 9
	}, want: &Pubrel{PacketID: 9}},
	{name: "pubrel/v3.1.1", v: V311, raw: []byte{
		0x62, 0x02, // PUBREL (flags 0010), remaining length 2
		0x00, 0x09, // packet identifier 9
	}, want: &Pubrel{PacketID: 9}},
	{name: "pubrel/v5/not-found", v: V5, raw: []byte{
		0x62, 0x03, // PUBREL (flags 0010), remaining length 3
		0x00, 0x09, // packet identifier 9
		0x92, // reason code packet identifier not found
	}, want: &Pubrel{PacketID: 9, ReasonCode: PacketIdentifierNotFound}},
	{name: "pubcomp/v3.1", v: V31, raw: []byte{
		0x70, 0x02, // PUBCOMP, remaining length 2
		0x00, 0x0a, // packet identifier 10
	}, want: &Pubcomp{PacketID: 10}},
	{name: "pubcomp/v3.1.1", v: V311, raw: []byte{
		0x70, 0x02, // PUBCOMP, remaining length 2
		0x00, 0x0a, // packet identifier 10
	}, want: &Pubcomp{PacketID: 10}},
	{name: "pubcomp/v5/short", v: V5, raw: []byte{
		0x70, 0x02, // PUBCOMP, remaining length 2
		0x00, 0x0a, // packet identifier 10
	}, want: &Pubcomp{PacketID: 10}},
	{name: "pubcomp/v5/properties", v: V5, raw: []byte{
		0x70, 0x08, // PUBCOMP, remaining length 8
		0x00, 0x0a, // packet identifier 10
		0x92,                  // reason code packet identifier not found
		0x04,                  // property length 4
		0x1f, 0x00, 0x01, '?', // reason string "?"
	}, want: &Pubcomp{PacketID: 10, ReasonCode: PacketIdentifierNotFound,
		Properties: props(Properties{ReasonString: b("?")}, PropReasonString)}},

	// ---- SUBSCRIBE ----
	{name: "subscribe/v3.1", v: V31, raw: []byte{
		0x82, 0x06, // SUBSCRIBE (flags 0010), remaining length 6
		0x00, 0x01, // packet identifier 1
		0x00, 0x01, '#', // filter "#"
		0x00, // requested QoS 0
	}, want: &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: b("#")}}}},
	{name: "subscribe/v3.1.1", v: V311, raw: []byte{
		0x82, 0x0c, // SUBSCRIBE (flags 0010), remaining length 12
		0x00, 0x01, // packet identifier 1
		0x00, 0x03, 'a', '/', '#', // filter "a/#"
		0x01,            // requested QoS 1
		0x00, 0x01, '+', // filter "+"
		0x02, // requested QoS 2
	}, want: &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: b("a/#"), QoS: 1}, {Filter: b("+"), QoS: 2}}}},
	{name: "subscribe/v5/options-shared", v: V5, raw: []byte{
		0x82, 0x1f, // SUBSCRIBE (flags 0010), remaining length 31
		0x00, 0x02, // packet identifier 2
		0x09,       // property length 9
		0x0b, 0x0a, // subscription identifier 10
		0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', // user property k=v
		0x00, 0x03, 'a', '/', '+', // filter "a/+"
		0x2d,                                                         // options: retain handling 2, retain as published, no local, QoS 1
		0x00, 0x0a, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 't', // filter "$share/g/t"
		0x02, // options: QoS 2
	}, want: &Subscribe{PacketID: 2,
		Properties: Properties{SubscriptionIDs: []uint32{10}, User: []UserProperty{{b("k"), b("v")}}},
		Subscriptions: []Subscription{
			{Filter: b("a/+"), QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
			{Filter: b("$share/g/t"), QoS: 2}}}},

	// ---- SUBACK ----
	{name: "suback/v3.1", v: V31, raw: []byte{
		0x90, 0x03, // SUBACK, remaining length 3
		0x00, 0x01, // packet identifier 1
		0x00, // granted QoS 0
	}, want: &Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS0}}},
	{name: "suback/v3.1.1", v: V311, raw: []byte{
		0x90, 0x05, // SUBACK, remaining length 5
		0x00, 0x01, // packet identifier 1
		0x01, // granted QoS 1
		0x02, // granted QoS 2
		0x80, // failure
	}, want: &Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS1, GrantedQoS2, SubackFailure}}},
	{name: "suback/v5", v: V5, raw: []byte{
		0x90, 0x07, // SUBACK, remaining length 7
		0x00, 0x02, // packet identifier 2
		0x00, // property length 0
		0x01, // granted QoS 1
		0x00, // granted QoS 0
		0x8f, // topic filter invalid
		0xa2, // wildcard subscriptions not supported
	}, want: &Suback{PacketID: 2, ReasonCodes: []ReasonCode{GrantedQoS1, GrantedQoS0, TopicFilterInvalid, WildcardSubscriptionsNotSupported}}},
	{name: "suback/v5/properties", v: V5, raw: []byte{
		0x90, 0x08, // SUBACK, remaining length 8
		0x00, 0x02, // packet identifier 2
		0x04,                  // property length 4
		0x1f, 0x00, 0x01, 'x', // reason string "x"
		0x87, // not authorized
	}, want: &Suback{PacketID: 2, Properties: props(Properties{ReasonString: b("x")}, PropReasonString),
		ReasonCodes: []ReasonCode{NotAuthorized}}},

	// ---- UNSUBSCRIBE ----
	{name: "unsubscribe/v3.1", v: V31, raw: []byte{
		0xa2, 0x05, // UNSUBSCRIBE (flags 0010), remaining length 5
		0x00, 0x03, // packet identifier 3
		0x00, 0x01, 'a', // filter "a"
	}, want: &Unsubscribe{PacketID: 3, Filters: [][]byte{b("a")}}},
	{name: "unsubscribe/v3.1.1", v: V311, raw: []byte{
		0xa2, 0x0a, // UNSUBSCRIBE (flags 0010), remaining length 10
		0x00, 0x03, // packet identifier 3
		0x00, 0x03, 'a', '/', 'b', // filter "a/b"
		0x00, 0x01, '#', // filter "#"
	}, want: &Unsubscribe{PacketID: 3, Filters: [][]byte{b("a/b"), b("#")}}},
	{name: "unsubscribe/v5", v: V5, raw: []byte{
		0xa2, 0x0f, // UNSUBSCRIBE (flags 0010), remaining length 15
		0x00, 0x03, // packet identifier 3
		0x07,                                   // property length 7
		0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', // user property k=v
		0x00, 0x03, 'a', '/', 'b', // filter "a/b"
	}, want: &Unsubscribe{PacketID: 3, Properties: Properties{User: []UserProperty{{b("k"), b("v")}}},
		Filters: [][]byte{b("a/b")}}},

	// ---- UNSUBACK ----
	{name: "unsuback/v3.1", v: V31, raw: []byte{
		0xb0, 0x02, // UNSUBACK, remaining length 2
		0x00, 0x03, // packet identifier 3
	}, want: &Unsuback{PacketID: 3}},
	{name: "unsuback/v3.1.1", v: V311, raw: []byte{
		0xb0, 0x02, // UNSUBACK, remaining length 2
		0x00, 0x03, // packet identifier 3
	}, want: &Unsuback{PacketID: 3}},
	{name: "unsuback/v5", v: V5, raw: []byte{
		0xb0, 0x05, // UNSUBACK, remaining length 5
		0x00, 0x03, // packet identifier 3
		0x00, // property length 0
		0x00, // success
		0x11, // no subscription existed
	}, want: &Unsuback{PacketID: 3, ReasonCodes: []ReasonCode{Success, NoSubscriptionExisted}}},

	// ---- PINGREQ, PINGRESP ----
	{name: "pingreq/v3.1", v: V31, raw: []byte{0xc0, 0x00}, want: &Pingreq{}},      // PINGREQ, remaining length 0
	{name: "pingreq/v3.1.1", v: V311, raw: []byte{0xc0, 0x00}, want: &Pingreq{}},   // PINGREQ, remaining length 0
	{name: "pingreq/v5", v: V5, raw: []byte{0xc0, 0x00}, want: &Pingreq{}},         // PINGREQ, remaining length 0
	{name: "pingresp/v3.1", v: V31, raw: []byte{0xd0, 0x00}, want: &Pingresp{}},    // PINGRESP, remaining length 0
	{name: "pingresp/v3.1.1", v: V311, raw: []byte{0xd0, 0x00}, want: &Pingresp{}}, // PINGRESP, remaining length 0
	{name: "pingresp/v5", v: V5, raw: []byte{0xd0, 0x00}, want: &Pingresp{}},       // PINGRESP, remaining length 0

	// ---- DISCONNECT ----
	{name: "disconnect/v3.1", v: V31, raw: []byte{0xe0, 0x00}, want: &Disconnect{}},    // DISCONNECT, remaining length 0
	{name: "disconnect/v3.1.1", v: V311, raw: []byte{0xe0, 0x00}, want: &Disconnect{}}, // DISCONNECT, remaining length 0
	{name: "disconnect/v5/normal", v: V5, raw: []byte{
		0xe0, 0x01, // DISCONNECT, remaining length 1
		0x00, // reason code normal disconnection
	}, want: &Disconnect{}},
	{name: "disconnect/v5/empty", v: V5, lenient: true, raw: []byte{
		0xe0, 0x00, // DISCONNECT, remaining length 0: normal disconnection, no properties
	}, want: &Disconnect{}, canon: []byte{0xe0, 0x01, 0x00}},
	{name: "disconnect/v5/reason", v: V5, raw: []byte{
		0xe0, 0x01, // DISCONNECT, remaining length 1
		0x8e, // reason code session taken over
	}, want: &Disconnect{ReasonCode: SessionTakenOver}},
	{name: "disconnect/v5/properties", v: V5, raw: []byte{
		0xe0, 0x0d, // DISCONNECT, remaining length 13
		0x04,                         // reason code disconnect with will message
		0x0b,                         // property length 11
		0x11, 0x00, 0x00, 0x00, 0x00, // session expiry interval 0
		0x1f, 0x00, 0x03, 'b', 'y', 'e', // reason string "bye"
	}, want: &Disconnect{ReasonCode: DisconnectWithWill,
		Properties: props(Properties{ReasonString: b("bye")}, PropSessionExpiry, PropReasonString)}},
	{name: "disconnect/v5/explicit-normal", v: V5, lenient: true, raw: []byte{
		0xe0, 0x02, // DISCONNECT, remaining length 2
		0x00, // reason code normal disconnection, written out
		0x00, // property length 0, written out
	}, want: &Disconnect{}, canon: []byte{0xe0, 0x01, 0x00}},

	// ---- AUTH ----
	{name: "auth/v5/success", v: V5, raw: []byte{
		0xf0, 0x00, // AUTH, remaining length 0: success, no properties
	}, want: &Auth{}},
	{name: "auth/v5/continue", v: V5, raw: []byte{
		0xf0, 0x0f, // AUTH, remaining length 15
		0x18,                                      // reason code continue authentication
		0x0d,                                      // property length 13
		0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M', // authentication method "SCRAM"
		0x16, 0x00, 0x02, 0x01, 0x02, // authentication data 01 02
	}, want: &Auth{ReasonCode: ContinueAuthentication,
		Properties: props(Properties{AuthMethod: b("SCRAM"), AuthData: []byte{1, 2}}, PropAuthMethod, PropAuthData)}},
	{name: "auth/v5/reauthenticate-no-properties", v: V5, raw: []byte{
		0xf0, 0x02, // AUTH, remaining length 2
		0x19, // reason code re-authenticate
		0x00, // property length 0
	}, want: &Auth{ReasonCode: ReAuthenticate}},
}
