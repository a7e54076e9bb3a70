package main

import "time"

// webhooksKept is how long a finished webhook delivery (delivered or
// given up) stays listed under its endpoint, for the super admins'
// questions, before the purge loop removes it.
const webhooksKept = 30 * 24 * time.Hour
