package mqtt

// codeSet is a set of reason codes, one bit per value.
type codeSet [4]uint64

func codes(rcs ...ReasonCode) (s codeSet) {
	for _, rc := range rcs {
		s[rc>>6] |= 1 << (rc & 63)
	}
	return s
}

func (s *codeSet) has(rc ReasonCode) bool { return s[rc>>6]&(1<<(rc&63)) != 0 }

// The reason codes each MQTT 5 packet may carry [MQTT-2.4] and the MQTT 3
// return codes.
var (
	connackCodes = codes(Success, UnspecifiedError, MalformedPacket, ProtocolError,
		ImplementationSpecificError, UnsupportedProtocolVersion, ClientIdentifierNotValid,
		BadUserNameOrPassword, NotAuthorized, ServerUnavailable, ServerBusy, Banned,
		BadAuthenticationMethod, TopicNameInvalid, PacketTooLarge, QuotaExceeded,
		PayloadFormatInvalid, RetainNotSupported, QoSNotSupported, UseAnotherServer,
		ServerMoved, ConnectionRateExceeded)
	connackV3Codes = codes(ConnAccepted, ConnRefusedUnacceptableProtocol,
		ConnRefusedIdentifierRejected, ConnRefusedServerUnavailable,
		ConnRefusedBadUserNameOrPassword, ConnRefusedNotAuthorized)
	pubackCodes = codes(Success, NoMatchingSubscribers, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicNameInvalid,
		PacketIdentifierInUse, QuotaExceeded, PayloadFormatInvalid)
	pubrelCodes = codes(Success, PacketIdentifierNotFound)
	subackCodes = codes(GrantedQoS0, GrantedQoS1, GrantedQoS2, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicFilterInvalid,
		PacketIdentifierInUse, QuotaExceeded, SharedSubscriptionsNotSupported,
		SubscriptionIdentifiersNotSupported, WildcardSubscriptionsNotSupported)
	subackV3Codes = codes(GrantedQoS0, GrantedQoS1, GrantedQoS2, SubackFailure)
	unsubackCodes = codes(Success, NoSubscriptionExisted, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicFilterInvalid,
		PacketIdentifierInUse)
	disconnectCodes = codes(NormalDisconnection, DisconnectWithWill, UnspecifiedError,
		MalformedPacket, ProtocolError, ImplementationSpecificError, NotAuthorized,
		ServerBusy, ServerShuttingDown, KeepAliveTimeout, SessionTakenOver,
		TopicFilterInvalid, TopicNameInvalid, ReceiveMaximumExceeded, TopicAliasInvalid,
		PacketTooLarge, MessageRateTooHigh, QuotaExceeded, AdministrativeAction,
		PayloadFormatInvalid, RetainNotSupported, QoSNotSupported, UseAnotherServer,
		ServerMoved, SharedSubscriptionsNotSupported, ConnectionRateExceeded,
		MaximumConnectTime, SubscriptionIdentifiersNotSupported,
		WildcardSubscriptionsNotSupported)
	authCodes = codes(Success, ContinueAuthentication, ReAuthenticate)
)
