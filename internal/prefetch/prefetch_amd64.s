#include "textflag.h"

// func Object(p unsafe.Pointer, size uintptr)
TEXT ·Object(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	size+8(FP), CX
	JMP	lines<>(SB)

// func Deref(p unsafe.Pointer, off, size uintptr)
TEXT ·Deref(SB), NOSPLIT|NOFRAME, $0-24
	MOVQ	p+0(FP), AX
	TESTQ	AX, AX
	JZ	done
	ADDQ	off+8(FP), AX
	MOVQ	(AX), AX
	TESTQ	AX, AX
	JZ	done
	MOVQ	size+16(FP), CX
	JMP	lines<>(SB)
done:
	RET

// lines prefetches the cache lines of [AX, AX+CX), at least one.
TEXT lines<>(SB), NOSPLIT|NOFRAME, $0-0
	ADDQ	AX, CX
	ANDQ	$~63, AX
loop:
	PREFETCHT0	(AX)
	ADDQ	$64, AX
	CMPQ	AX, CX
	JB	loop
	RET
