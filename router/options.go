package router

import "github.com/canopy-cloud/canopy/clock"

// Option changes how Open builds the clouds' stacks.
type Option func(*options)

type options struct {
	clock clock.Clock // nil: the wall clock
}

// WithClock makes the clouds' circuit breakers read c instead of the wall
// clock, so that tests move a breaker's cooldown forward instead of
// sleeping through it.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }
