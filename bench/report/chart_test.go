package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestChartDrawsBarsToTheirRatio(t *testing.T) {
	var buf bytes.Buffer
	if err := Chart(&buf, "T", []*Row{threeRounds()}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	c := &canvas{xmax: 2.25}                               // discoh ÷ twemproxy is 2: the scale ends a grid step past 2.1
	bar := headHeight + 1*(barHeight+barGap) + barHeight/2 // the discoh ÷ direct bar, at 0.5
	checks := []struct {
		name string
		at   image.Point
		want color.Color
	}{
		{"inside the bar", image.Pt(c.x(0.45), bar), comparisons[1].color},
		{"past its end", image.Pt(c.x(0.7), bar), color.White},
	}
	for _, ch := range checks {
		if got := color.RGBAModel.Convert(img.At(ch.at.X, ch.at.Y)); got != color.RGBAModel.Convert(ch.want) {
			t.Errorf("%s at %v: got %v; want %v", ch.name, ch.at, got, ch.want)
		}
	}
}
