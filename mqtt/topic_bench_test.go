package mqtt

import "testing"

func BenchmarkMatch(b *testing.B) {
	cases := []struct {
		name, filter, topic string
	}{
		{"kind=literal", "sport/tennis/player1/ranking", "sport/tennis/player1/ranking"},
		{"kind=plus", "sport/+/player1/+", "sport/tennis/player1/ranking"},
		{"kind=hash", "sport/tennis/#", "sport/tennis/player1/score/wimbledon"},
		{"kind=miss", "sport/tennis/player2/#", "sport/tennis/player1/score/wimbledon"},
		{"kind=sys", "#", "$SYS/broker/load/messages/received"},
	}
	for _, c := range cases {
		f, t := []byte(c.filter), []byte(c.topic)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(t)))
			for b.Loop() {
				Match(f, t)
			}
		})
	}
}

func BenchmarkValidTopicFilter(b *testing.B) {
	f := []byte("$share/group/sport/+/player1/#")
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		_ = ValidTopicFilter(f)
	}
}

func BenchmarkValidTopicName(b *testing.B) {
	t := []byte("sport/tennis/player1/score/wimbledon")
	b.ReportAllocs()
	b.SetBytes(int64(len(t)))
	for b.Loop() {
		_ = ValidTopicName(t)
	}
}
