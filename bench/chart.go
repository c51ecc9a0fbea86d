package bench

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Relative returns a broker's median for metric m relative to the best
// peer, oriented so that higher is always better (best peer = 1): the
// ratio for HigherIsBetter metrics, its inverse otherwise. ok is false
// when either number is missing.
func (rep *Report) Relative(m Metric, broker string) (float64, bool) {
	own := rep.Spread(m, broker)
	best, found := rep.bestPeer(m)
	if own.N == 0 || !found || best <= 0 || own.Median <= 0 {
		return 0, false
	}
	if m.HigherIsBetter {
		return own.Median / best, true
	}
	return best / own.Median, true
}

// WriteChart writes a PNG bar chart to path: one group per metric, one bar
// per broker, each relative to the best peer (1 = best peer, higher is
// better), so rates, latencies and memory share one axis.
func (rep *Report) WriteChart(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("shardmq-bench (%s): relative to the best peer, higher is better", rep.Profile)
	p.Y.Label.Text = "× best peer"
	var names []string
	var metrics []Metric
	for _, m := range Metrics() {
		for _, b := range rep.comparedBrokers() {
			if _, ok := rep.Relative(m, b); ok {
				names = append(names, m.Row)
				metrics = append(metrics, m)
				break
			}
		}
	}
	if len(metrics) == 0 {
		// Nothing comparable (no peer ran): draw an empty, labelled chart.
		names = []string{"no comparable results"}
	}
	brokers := rep.comparedBrokers()
	w := vg.Points(60 / float64(max(len(brokers), 1)))
	for i, b := range brokers {
		vals := make(plotter.Values, len(names))
		for j, m := range metrics {
			if v, ok := rep.Relative(m, b); ok {
				vals[j] = v
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(brokers)-1)/2)
		p.Add(bars)
		p.Legend.Add(b, bars)
	}
	// The best peer sits at 1 by construction; draw it as a reference.
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(one)
	p.Legend.Top = true
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	return p.Save(vg.Length(max(6, 1.4*float64(len(names))))*vg.Inch, 4.5*vg.Inch, path)
}
