// A 16x16 multiply-accumulate: Yosys synthesises it to gates, then evaluates the netlist.
module mac(input [15:0] a, input [15:0] b, input [31:0] c, output [31:0] y);
  assign y = a * b + c;
endmodule
