package report

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// comparison is one bar of each row: a throughput ratio of two targets.
type comparison struct {
	num, den string
	color    color.RGBA
}

var comparisons = []comparison{
	{Twemproxy, Direct, color.RGBA{0x8c, 0x9e, 0xb5, 0xff}},
	{Discoh, Direct, color.RGBA{0xf0, 0x8a, 0x24, 0xff}},
	{Discoh, Twemproxy, color.RGBA{0x2e, 0x9e, 0x5b, 0xff}},
}

// Chart layout, in pixels.
const (
	chartWidth = 1000
	labelWidth = 240 // row names, left of the bars
	rightPad   = 70  // room for the last bar's value
	headHeight = 60  // title and legend
	footHeight = 30  // axis labels
	barHeight  = 11
	barGap     = 2
	rowGap     = 14
	gridStep   = 0.25 // ratio between grid lines
)

var (
	black    = color.RGBA{0x20, 0x20, 0x20, 0xff}
	gridGray = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

// canvas is the chart being drawn, with its ratio-to-pixel scale.
type canvas struct {
	img  *image.RGBA
	xmax float64 // the ratio at the right end of the plot
}

// Chart draws every row's throughput ratios (twemproxy ÷ direct, discoh ÷
// direct, discoh ÷ twemproxy) as grouped horizontal bars and writes the PNG.
func Chart(w io.Writer, title string, rows []*Row) error {
	rows = ranRows(rows)
	height := headHeight + len(rows)*rowHeight() + footHeight
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, chartWidth, height)), xmax: scaleMax(rows)}
	draw.Draw(c.img, c.img.Bounds(), image.White, image.Point{}, draw.Src)
	c.text(10, 18, title, black)
	c.legend()
	c.grid(headHeight, height-footHeight)
	for i, r := range rows {
		c.row(headHeight+i*rowHeight(), r)
	}
	c.fill(image.Rect(c.x(1), headHeight, c.x(1)+1, height-footHeight), black) // parity
	return png.Encode(w, c.img)
}

func rowHeight() int { return len(comparisons)*(barHeight+barGap) + rowGap }

// scaleMax returns the plot's right end: past every ratio and past 1, on a
// grid line.
func scaleMax(rows []*Row) float64 {
	top := 1.0
	for _, r := range rows {
		for _, cmp := range comparisons {
			if v := r.Ratio(cmp.num, cmp.den, Throughput); v > top {
				top = v
			}
		}
	}
	return math.Ceil(top*1.05/gridStep) * gridStep
}

func (c *canvas) x(ratio float64) int {
	return labelWidth + int(ratio/c.xmax*float64(chartWidth-labelWidth-rightPad))
}

func (c *canvas) legend() {
	x := 10
	for _, cmp := range comparisons {
		c.fill(image.Rect(x, 32, x+14, 44), cmp.color)
		label := cmp.num + " / " + cmp.den + " (ops/s)" // the font is ASCII only
		c.text(x+20, 43, label, black)
		x += 20 + 7*len([]rune(label)) + 30
	}
}

// grid draws a vertical line and label at every grid step.
func (c *canvas) grid(top, bottom int) {
	for v := 0.0; v <= c.xmax+1e-9; v += gridStep {
		x := c.x(v)
		c.fill(image.Rect(x, top, x+1, bottom), gridGray)
		c.text(x-14, bottom+16, fmt.Sprintf("%.2f", v), black)
	}
}

func (c *canvas) row(top int, r *Row) {
	c.text(10, top+barHeight+12, r.Group+" "+r.Name, black)
	for i, cmp := range comparisons {
		v := r.Ratio(cmp.num, cmp.den, Throughput)
		if math.IsNaN(v) {
			continue
		}
		y := top + i*(barHeight+barGap)
		c.fill(image.Rect(labelWidth, y, c.x(v), y+barHeight), cmp.color)
		c.text(c.x(v)+4, y+barHeight-1, fmt.Sprintf("%.2f", v), black)
	}
}

func (c *canvas) fill(r image.Rectangle, col color.Color) {
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

// text draws s with its baseline at y.
func (c *canvas) text(x, y int, s string, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
