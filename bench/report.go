package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of Run: every result plus what the tables need.
type Report struct {
	// Profile is the profile that ran.
	Profile string `json:"profile"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// Settings are the run's main parameters.
	Settings Settings `json:"settings"`
	// Brokers are the compared brokers in column order (the relay last).
	Brokers []string `json:"brokers"`
	// Notes are lines for the reader: brokers not built, scenarios skipped.
	Notes []string `json:"notes,omitempty"`
	// Results holds every run.
	Results []Result `json:"results"`
}

// Settings are the parameters a reader needs to interpret a Report.
type Settings struct {
	Warmup      string `json:"warmup"`
	Duration    string `json:"duration"`
	Repeats     int    `json:"repeats"`
	MQTT        string `json:"mqtt_version"`
	PayloadSize int    `json:"payload_bytes"`
	Pairs       int    `json:"pairs"`
	Window      int    `json:"qos12_window"`
	QoS0Window  int    `json:"qos0_window"`
	FixedRate   int    `json:"fixed_rate_per_sec"`
	StormConns  int    `json:"storm_conns"`
	StormMax    int    `json:"storm_conns_max"`
	CatalogRows int    `json:"catalog_rows"`
	Sessions    int    `json:"sessions"`
	// SessionTimeout bounds each phase of the sessions scenario.
	SessionTimeout string `json:"session_phase_timeout"`
	// ConnectRate is the storms' and sessions' connection rate cap (0:
	// none).
	ConnectRate  int    `json:"connect_rate,omitempty"`
	ChurnPercent int    `json:"churn_percent_per_minute"`
	Target       string `json:"target,omitempty"`
	CPUs         int    `json:"cpus"`
}

// settingsOf returns the Settings of a defaulted Config.
func settingsOf(c Config) Settings {
	return Settings{Warmup: c.Warmup.String(), Duration: c.Duration.String(), Repeats: c.Repeats,
		MQTT: c.Version.String(), PayloadSize: c.PayloadSize, Pairs: c.Pairs, Window: c.Window,
		QoS0Window: c.QoS0Window, FixedRate: c.FixedRate, StormConns: c.StormConns, StormMax: c.StormConnsMax,
		CatalogRows: c.CatalogRows, Sessions: c.Sessions, SessionTimeout: c.SessionTimeout.String(),
		ConnectRate: c.ConnectRate, ChurnPercent: c.ChurnPercent, Target: c.Target, CPUs: runtime.NumCPU()}
}

// Metric is one row of the summary table: a number taken from the results
// of one scenario.
type Metric struct {
	// Row is the row label (usually the scenario name).
	Row string
	// Scenario is the scenario whose results carry the number.
	Scenario string
	// Name describes the number, e.g. "deliveries/s".
	Name string
	// HigherIsBetter tells the direction in which a broker wins.
	HigherIsBetter bool
	// Value extracts the number; ok is false when the result has none.
	Value func(r Result) (v float64, ok bool)
	// Format renders the number.
	Format func(v float64) string
}

// Metrics returns the summary table's rows in order.
func Metrics() []Metric {
	rate := func(r Result) (float64, bool) { return r.Rate, r.Delivered > 0 }
	connectRate := func(r Result) (float64, bool) { return r.ConnectRate, r.ConnectRate > 0 }
	idleMem := func(r Result) (float64, bool) { return r.BytesPerConn, r.Conns > 0 && r.RSS > 0 }
	apiP99 := func(r Result) (float64, bool) { return float64(r.API.P99), r.API.Count > 0 }
	dur := func(v float64) string { return fmtDur(int64(v)) }
	var ms []Metric
	for _, s := range []string{ScenarioFanIn, ScenarioFanOut, ScenarioP2P0, ScenarioP2P1, ScenarioP2P2,
		ScenarioP2P1PersistMemory, ScenarioP2P1Persist, ScenarioP2P1PersistSync, ScenarioP2P0TLS, ScenarioP2P0WS, ScenarioFanInSN} {
		ms = append(ms, Metric{Row: s, Scenario: s, Name: "deliveries/s", HigherIsBetter: true,
			Value: rate, Format: fmtCount})
	}
	ms = append(ms, Metric{Row: ScenarioFixedRate, Scenario: ScenarioFixedRate, Name: "p99 latency",
		Value:  func(r Result) (float64, bool) { return float64(r.Latency.P99), r.Latency.Count > 0 },
		Format: dur})
	// Each storm gives two rows: its connect rate and the idle memory.
	for _, s := range []struct{ scenario, idleRow string }{
		{ScenarioStorm, "idle-mem"}, {ScenarioStormMax, "idle-mem-max"}, {ScenarioStormTLS, "idle-mem-tls"},
		{ScenarioStormSN, "idle-mem-mqttsn"},
	} {
		ms = append(ms,
			Metric{Row: s.scenario, Scenario: s.scenario, Name: "connects/s", HigherIsBetter: true,
				Value: connectRate, Format: fmtCount},
			Metric{Row: s.idleRow, Scenario: s.scenario, Name: "broker RSS/idle conn",
				Value: idleMem, Format: fmtBytes})
	}
	// The sessions scenario gives three rows.
	ms = append(ms,
		Metric{Row: "session-create", Scenario: ScenarioSessions, Name: "sessions created/s", HigherIsBetter: true,
			Value: func(r Result) (float64, bool) { return r.CreateRate, r.CreateRate > 0 }, Format: fmtCount},
		Metric{Row: "session-resume", Scenario: ScenarioSessions, Name: "sessions resumed/s", HigherIsBetter: true,
			Value: func(r Result) (float64, bool) { return r.ResumeRate, r.ResumeRate > 0 }, Format: fmtCount},
		Metric{Row: "offline-mem", Scenario: ScenarioSessions, Name: "broker RSS/offline session",
			Value: func(r Result) (float64, bool) { return r.BytesPerSession, r.Sessions > 0 && r.RSS > 0 }, Format: fmtBytes})
	return append(ms,
		Metric{Row: ScenarioAPI, Scenario: ScenarioAPI, Name: "GET /clients p99", Value: apiP99, Format: dur},
		Metric{Row: ScenarioAPICatalog, Scenario: ScenarioAPICatalog, Name: "GET /clients p99 over the catalog",
			Value: apiP99, Format: dur},
		Metric{Row: ScenarioCatalogChurn, Scenario: ScenarioCatalogChurn, Name: "GET /clients p99, worst filter",
			Value: worstFilterP99, Format: dur},
	)
}

// worstFilterP99 returns the highest p99 over the filters of a
// catalog-churn run.
func worstFilterP99(r Result) (float64, bool) {
	var worst int64
	for _, l := range r.APIByFilter {
		if l.Count == 0 {
			return 0, false // a filter without a measurement has no p99
		}
		worst = max(worst, l.P99)
	}
	return float64(worst), len(r.APIByFilter) > 0
}

// Spread is the minimum, median and maximum of a metric over repeats.
type Spread struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	// N is the number of successful runs.
	N int `json:"n"`
}

// spreadOf returns the Spread of vals (N == 0 when empty).
func spreadOf(vals []float64) Spread {
	if len(vals) == 0 {
		return Spread{}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Min: s[0], Median: med, Max: s[len(s)-1], N: len(s)}
}

// Spread returns the metric's spread for broker over the report's runs.
func (rep *Report) Spread(m Metric, broker string) Spread {
	var vals []float64
	for _, r := range rep.Results {
		if r.Scenario != m.Scenario || r.Broker != broker || r.Err != "" || r.Skipped != "" {
			continue
		}
		if v, ok := m.Value(r); ok {
			vals = append(vals, v)
		}
	}
	return spreadOf(vals)
}

// Ratio returns shardmq's median divided by the best peer's median (the
// highest for HigherIsBetter metrics, else the lowest), and false when
// either is missing.
func (rep *Report) Ratio(m Metric) (float64, bool) {
	own := rep.Spread(m, BrokerShardmq)
	best, found := rep.bestPeer(m)
	if own.N == 0 || !found || best == 0 {
		return 0, false
	}
	return own.Median / best, true
}

// bestPeer returns the best peer's median for m (the highest for
// HigherIsBetter metrics, else the lowest), and false when no peer has one.
func (rep *Report) bestPeer(m Metric) (best float64, found bool) {
	for _, p := range rep.peers() {
		s := rep.Spread(m, p)
		if s.N == 0 {
			continue
		}
		if !found || (m.HigherIsBetter && s.Median > best) || (!m.HigherIsBetter && s.Median < best) {
			best, found = s.Median, true
		}
	}
	return best, found
}

// peers returns the brokers shardmq is compared with: every compared
// broker but shardmq.
func (rep *Report) peers() []string {
	return slices.DeleteFunc(rep.comparedBrokers(), func(b string) bool { return b == BrokerShardmq })
}

// subject returns the broker whose ceiling fraction the table shows:
// shardmq, or the first compared broker (a --target) when shardmq did not
// run.
func (rep *Report) subject() string {
	cols := rep.comparedBrokers()
	if len(cols) == 0 {
		return ""
	}
	return cols[0]
}

// Ceiling returns the relay's spread for m, the generator's ceiling in the
// same topology, and false when the relay did not run m's scenario.
func (rep *Report) Ceiling(m Metric) (Spread, bool) {
	if !relayScenarios[m.Scenario] {
		return Spread{}, false
	}
	s := rep.Spread(m, BrokerRelay)
	return s, s.N > 0
}

// CeilingFraction returns broker's median for a throughput metric divided
// by the relay ceiling's median, and false for other metrics or when
// either is missing.
func (rep *Report) CeilingFraction(m Metric, broker string) (float64, bool) {
	ceil, ok := rep.Ceiling(m)
	own := rep.Spread(m, broker)
	if !ok || !m.HigherIsBetter || own.N == 0 || ceil.Median <= 0 {
		return 0, false
	}
	return own.Median / ceil.Median, true
}

// brokerCell renders broker's cell for m: the spread of its successful
// runs; else "n/a (reason)" when the broker cannot run the scenario,
// "failed (see notes)" when every run failed, "—" when nothing ran.
func (rep *Report) brokerCell(m Metric, broker string) string {
	if s := rep.Spread(m, broker); s.N > 0 {
		if rep.partial(m.Scenario, broker) {
			return cell(s, m.Format) + " *"
		}
		return cell(s, m.Format)
	}
	if why := rep.notApplicable(m.Scenario, broker); why != "" {
		return "n/a (" + why + ")"
	}
	for _, r := range rep.runs(m.Scenario, broker) {
		if r.Err != "" {
			return "failed (see notes)"
		}
	}
	return "—"
}

// partial reports whether a successful run of scenario on broker has
// partial figures.
func (rep *Report) partial(scenario, broker string) bool {
	for _, r := range rep.runs(scenario, broker) {
		if r.Partial != "" && r.Err == "" {
			return true
		}
	}
	return false
}

// notApplicable returns why broker did not run scenario (a skipped run's
// reason), or "".
func (rep *Report) notApplicable(scenario, broker string) string {
	for _, r := range rep.runs(scenario, broker) {
		if r.Skipped != "" {
			return r.Skipped
		}
	}
	return ""
}

// cell renders a spread: the median, and "(min–max)" when there were
// repeats.
func cell(s Spread, format func(float64) string) string {
	if s.N == 0 {
		return "—"
	}
	if s.N == 1 || s.Min == s.Max {
		return format(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", format(s.Median), format(s.Min), format(s.Max))
}

// Markdown renders the summary table (scenario × broker with the
// shardmq/best-peer ratio), the generator's ceiling, a detail table and
// the notes.
func (rep *Report) Markdown() string {
	var b strings.Builder
	cols := rep.comparedBrokers()
	fmt.Fprintf(&b, "## shardmq-bench (%s profile, %s)\n\n", rep.Profile, rep.Started.UTC().Format(time.RFC3339))
	if t := rep.Settings.Target; t != "" {
		fmt.Fprintf(&b, "Target: %s (already running; not started or stopped by the harness).\n\n", t)
	}
	if st := rep.Settings; st.Repeats > 0 {
		fmt.Fprintf(&b, "MQTT %s, %d-byte payloads, warm-up %s, %s measured, %d run(s) per broker, %d CPUs; "+
			"%d pairs, QoS 1/2 window %d, QoS 0 window %d, fixed rate %d msg/s, storm %d and %d conns, catalog %d sessions, "+
			"%d persistent sessions (each phase within %s), churn %d%%/min.\n\n",
			st.MQTT, st.PayloadSize, st.Warmup, st.Duration, st.Repeats, st.CPUs, st.Pairs, st.Window,
			st.QoS0Window, st.FixedRate, st.StormConns, st.StormMax, st.CatalogRows, st.Sessions, st.SessionTimeout,
			st.ChurnPercent)
	}
	subject := rep.subject()
	b.WriteString("| scenario | metric |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s |", c)
	}
	fmt.Fprintf(&b, " relay ceiling | %s / ceiling | shardmq / best peer |\n|---|---|", subject)
	b.WriteString(strings.Repeat("---:|", len(cols)+3) + "\n")
	for _, m := range Metrics() {
		if !slices.Contains(rep.scenarios(), m.Scenario) {
			continue
		}
		arrow := "↓"
		if m.HigherIsBetter {
			arrow = "↑"
		}
		name := m.Name
		if m.Scenario == ScenarioSessions && rep.Settings.Sessions > 0 {
			name += " at " + fmtCount(float64(rep.Settings.Sessions))
		}
		fmt.Fprintf(&b, "| %s | %s %s |", m.Row, name, arrow)
		for _, c := range cols {
			fmt.Fprintf(&b, " %s |", rep.brokerCell(m, c))
		}
		ceiling, fraction := "—", "—"
		if s, ok := rep.Ceiling(m); ok {
			ceiling = cell(s, m.Format)
		}
		if f, ok := rep.CeilingFraction(m, subject); ok {
			fraction = fmt.Sprintf("%.0f%%", 100*f)
		}
		ratio := "—"
		if r, ok := rep.Ratio(m); ok {
			ratio = fmt.Sprintf("%.2f×", r)
		}
		fmt.Fprintf(&b, " %s | %s | %s |\n", ceiling, fraction, ratio)
	}
	b.WriteString("\n↑ higher is better, ↓ lower is better; cells are medians (min–max over repeats). " +
		"The relay ceiling is the same generator through a trivial TCP relay instead of a broker (pairs, " +
		"one publisher copied to many subscribers, many merged into one): the most it can measure in that " +
		"topology, in this run.\n")
	for _, sc := range rep.scenarios() {
		if slices.ContainsFunc(rep.comparedBrokers(), func(b string) bool { return rep.partial(sc, b) }) {
			b.WriteString("\n\\* partial: the broker did not complete every session within the phase's time limit; " +
				"the figure stands for the sessions it did (see the notes).\n")
			break
		}
	}
	if rep.Profile == ProfileShort && rep.Settings.Sessions > 0 && rep.Settings.Sessions < issueSessions &&
		slices.Contains(rep.scenarios(), ScenarioSessions) {
		fmt.Fprintf(&b, "\nThe sessions rows are at %s sessions, not %s: at %s on every broker the short profile would "+
			"outgrow its minutes (`--sessions %d` runs them at that size; `make bench-full` at 1M).\n",
			fmtCount(float64(rep.Settings.Sessions)), fmtCount(issueSessions), fmtCount(issueSessions), issueSessions)
	}
	b.WriteString("\n### Details (median run)\n\n| scenario | broker | deliveries/s | latency p50/p99/p999 | broker CPU | generator CPU | broker RSS (peak) | stalls | runs ok |\n|---|---|---:|---|---:|---:|---:|---:|---:|\n")
	for _, s := range rep.scenarios() {
		for _, br := range rep.Brokers {
			rs := rep.runs(s, br)
			if len(rs) == 0 {
				continue
			}
			r := medianRun(rs)
			ok := 0
			for _, x := range rs {
				if x.Err == "" && x.Skipped == "" {
					ok++
				}
			}
			if ok == 0 {
				continue
			}
			rate := fmtCount(r.Rate)
			switch s {
			case ScenarioStorm, ScenarioStormMax, ScenarioStormTLS, ScenarioStormSN:
				rate = fmt.Sprintf("%d conns at %s/s", r.Conns, fmtCount(r.ConnectRate))
			case ScenarioAPICatalog:
				rate = fmt.Sprintf("%d sessions at %s/s", r.Conns, fmtCount(r.ConnectRate))
			case ScenarioSessions:
				rate = fmt.Sprintf("%d sessions: %s/s created, %s/s resumed", r.Sessions, fmtCount(r.CreateRate),
					fmtCount(r.ResumeRate))
			case ScenarioCatalogChurn:
				rate = fmt.Sprintf("%d sessions, %d reconnects in %.0f s", r.Conns, r.Reconnects, r.Seconds)
			}
			lat := r.Latency.String()
			if r.API.Count > 0 {
				lat = "API " + r.API.String()
			}
			gen := "—"
			if r.GenCPU > 0 {
				gen = fmt.Sprintf("%.2f cores", r.GenCPU)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d | %d/%d |\n", s, br, rate,
				lat, fmtCPU(r), gen, fmtRSS(r), r.Stalls, ok, len(rs))
		}
	}
	rep.writePersistTable(&b)
	rep.writeFilterTable(&b)
	if notes := rep.allNotes(); len(notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

// comparedBrokers returns the table's columns: shardmq first, then the
// peers in run order, without the relay.
func (rep *Report) comparedBrokers() []string {
	var out []string
	if slices.Contains(rep.Brokers, BrokerShardmq) {
		out = append(out, BrokerShardmq)
	}
	for _, b := range rep.Brokers {
		if b != BrokerRelay && b != BrokerShardmq {
			out = append(out, b)
		}
	}
	return out
}

// scenarios returns the scenarios present in the results, in report order.
func (rep *Report) scenarios() []string {
	var out []string
	for _, s := range Scenarios() {
		for _, r := range rep.Results {
			if r.Scenario == s {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// runs returns the results of one scenario on one broker.
func (rep *Report) runs(scenario, broker string) []Result {
	var out []Result
	for _, r := range rep.Results {
		if r.Scenario == scenario && r.Broker == broker {
			out = append(out, r)
		}
	}
	return out
}

// medianRun returns the successful run with the median rate (or the
// first run when none succeeded).
func medianRun(rs []Result) Result {
	var ok []Result
	for _, r := range rs {
		if r.Err == "" && r.Skipped == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return rs[0]
	}
	slices.SortFunc(ok, func(a, b Result) int {
		return int(math.Copysign(1, a.Rate+a.ConnectRate+a.CreateRate-b.Rate-b.ConnectRate-b.CreateRate))
	})
	return ok[len(ok)/2]
}

// writeFilterTable writes the catalog-churn latency of each filter, for
// every broker that ran it (median run).
func (rep *Report) writeFilterTable(b *strings.Builder) {
	header := false
	for _, br := range rep.comparedBrokers() {
		rs := rep.runs(ScenarioCatalogChurn, br)
		if len(rs) == 0 {
			continue
		}
		r := medianRun(rs)
		if len(r.APIByFilter) == 0 {
			continue
		}
		if !header {
			b.WriteString("\n### catalog-churn: GET /clients by filter (median run)\n\n| broker | filter | requests | p50 | p99 | p999 |\n|---|---|---:|---:|---:|---:|\n")
			header = true
		}
		for _, name := range churnFilterNames() {
			if l, ok := r.APIByFilter[name]; ok {
				fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s |\n", br, name, l.Count, fmtDur(l.P50), fmtDur(l.P99), fmtDur(l.P999))
			}
		}
	}
}

// allNotes returns the report's notes plus one line per failed or partial
// run.
func (rep *Report) allNotes() []string {
	notes := slices.Clone(rep.Notes)
	seen := map[string]bool{}
	for _, r := range rep.Results {
		// A skipped run shows as "n/a (reason)" in the table.
		var n string
		switch {
		case r.Err != "":
			n = fmt.Sprintf("%s on %s run %d failed: %s", r.Scenario, r.Broker, r.Run, r.Err)
		case r.Partial != "":
			n = fmt.Sprintf("%s on %s run %d partial: %s", r.Scenario, r.Broker, r.Run, r.Partial)
		default:
			continue
		}
		if !seen[n] {
			seen[n] = true
			notes = append(notes, n)
		}
	}
	return notes
}

// SummaryRow is one row of the summary table in machine-readable form.
type SummaryRow struct {
	Row            string            `json:"row"`
	Scenario       string            `json:"scenario"`
	Metric         string            `json:"metric"`
	HigherIsBetter bool              `json:"higher_is_better"`
	Brokers        map[string]Spread `json:"brokers"`
	// Ratio is shardmq's median over the best peer's; absent when either
	// is missing.
	Ratio *float64 `json:"shardmq_over_best_peer,omitempty"`
	// Ceiling is the relay's spread (the generator's ceiling) and
	// CeilingFraction the subject broker's median over its median; absent
	// for metrics the relay does not measure.
	Ceiling         *Spread  `json:"relay_ceiling,omitempty"`
	CeilingFraction *float64 `json:"fraction_of_ceiling,omitempty"`
	// NotApplicable gives, per broker, why it cannot run the scenario.
	NotApplicable map[string]string `json:"not_applicable,omitempty"`
}

// Summary returns the summary table's rows (those with any result).
func (rep *Report) Summary() []SummaryRow {
	var rows []SummaryRow
	for _, m := range Metrics() {
		row := SummaryRow{Row: m.Row, Scenario: m.Scenario, Metric: m.Name,
			HigherIsBetter: m.HigherIsBetter, Brokers: map[string]Spread{}}
		for _, b := range rep.Brokers {
			if s := rep.Spread(m, b); s.N > 0 {
				row.Brokers[b] = s
			} else if why := rep.notApplicable(m.Scenario, b); why != "" {
				if row.NotApplicable == nil {
					row.NotApplicable = map[string]string{}
				}
				row.NotApplicable[b] = why
			}
		}
		if len(row.Brokers) == 0 && len(row.NotApplicable) == 0 {
			continue
		}
		if r, ok := rep.Ratio(m); ok {
			row.Ratio = &r
		}
		if c, ok := rep.Ceiling(m); ok {
			row.Ceiling = &c
		}
		if f, ok := rep.CeilingFraction(m, rep.subject()); ok {
			row.CeilingFraction = &f
		}
		rows = append(rows, row)
	}
	return rows
}

// WriteJSON writes the report, with its summary, as indented JSON to path.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(struct {
		*Report
		Summary []SummaryRow `json:"summary"`
	}{rep, rep.Summary()}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// fmtCount formats a count or rate with about three significant digits
// and a k/M suffix.
func fmtCount(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return sig3(v/1e6) + "M"
	case a >= 1e3:
		return sig3(v/1e3) + "k"
	}
	return sig3(v)
}

// sig3 formats v (below 1000 in magnitude) with three significant digits
// and no exponent.
func sig3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// fmtBytes formats a byte count in binary units.
func fmtBytes(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1<<30:
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// fmtCPU formats the broker CPU of a run, or "—" when it ran in-process.
func fmtCPU(r Result) string {
	if r.CPU == 0 && r.RSS == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f cores", r.CPU)
}

// fmtRSS formats a run's RSS and peak RSS.
func fmtRSS(r Result) string {
	if r.RSS == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s)", fmtBytes(float64(r.RSS)), fmtBytes(float64(r.PeakRSS)))
}
