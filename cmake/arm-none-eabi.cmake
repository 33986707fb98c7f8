# Toolchain file for bare-metal Arm Cortex-M4 with Debian's gcc-arm-none-eabi and
# libstdc++-arm-none-eabi-newlib:
#   cmake -S examples/firmware -B build-firmware -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake
# Hard float (the M4's single-precision FPU, which QEMU's mps2-an386 models); the multilib
# thumb/v7e-m+fp/hard of newlib and libstdc++ matches these flags.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# No OS to link test programs against: CMake's compiler checks build a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(RCMGR_CORTEX_M4_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${RCMGR_CORTEX_M4_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${RCMGR_CORTEX_M4_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${RCMGR_CORTEX_M4_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${RCMGR_CORTEX_M4_FLAGS}")

find_program(CMAKE_NM arm-none-eabi-nm)
find_program(CMAKE_OBJCOPY arm-none-eabi-objcopy)
find_program(CMAKE_OBJDUMP arm-none-eabi-objdump)
find_program(CMAKE_SIZE arm-none-eabi-size)

# Headers and libraries come from the cross toolchain, programs from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
