#include "textflag.h"

// func Object(p unsafe.Pointer, size uintptr)
TEXT ·Object(SB), NOSPLIT|NOFRAME, $0-16
	MOVD	p+0(FP), R0
	MOVD	size+8(FP), R1
	B	lines<>(SB)

// func Deref(p unsafe.Pointer, off, size uintptr)
TEXT ·Deref(SB), NOSPLIT|NOFRAME, $0-24
	MOVD	p+0(FP), R0
	CBZ	R0, done
	MOVD	off+8(FP), R1
	MOVD	(R0)(R1), R0
	CBZ	R0, done
	MOVD	size+16(FP), R1
	B	lines<>(SB)
done:
	RET

// lines prefetches the cache lines of [R0, R0+R1), at least one.
TEXT lines<>(SB), NOSPLIT|NOFRAME, $0-0
	ADD	R0, R1, R1
	AND	$~63, R0
loop:
	PRFM	(R0), PLDL1KEEP
	ADD	$64, R0
	CMP	R1, R0
	BLO	loop
	RET
